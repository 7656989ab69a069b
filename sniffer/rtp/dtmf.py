"""RFC 4733 telephone-event payloads: DTMF digits of one RTP stream.

Payload (section 2.3): event (8 bits), E end bit, R reserved, volume (6 bits), duration (16 bits,
RTP clock units). One event is sent as several packets with the same RTP timestamp (updates of
the duration, then usually three end-of-event copies), so a digit is reported once per new
timestamp. A long event is cut into segments with new timestamps (section 2.5.1.3): a segment
that continues an unfinished event of maximal duration is not a new digit.
"""

EVENT_PAYLOAD_LEN = 4
MAX_DURATION = 0xFFFF
DTMF_EVENTS = "0123456789*#ABCD"
"""Events 0..15 (RFC 4733 section 3.2): digits, star (10), pound (11), A-D (12-15)."""
FLASH_EVENT = 16
"""RFC 4733 section 3.2: hook flash, the last of the DTMF named events."""
RESERVED_BIT = 0x40
"""The R bit of the second payload byte: sent as 0 (RFC 4733 section 2.3)."""
GUESS_PACKETS = 50
"""An unmapped payload type not confirmed as events within this many packets is not one."""


class DtmfDetector:
    """Collects the DTMF digits of one stream's telephone-event packets. Never raises."""

    __slots__ = ("_duration", "_ended", "_event", "_ts", "digits", "malformed", "other_events")

    def __init__(self) -> None:
        self.digits = ""
        self.other_events = 0
        """Events that are not DTMF (e.g. 32 ANS fax tone), counted once per event."""
        self.malformed = 0
        """Payloads shorter than 4 bytes."""
        self._ts = -1
        self._event = -1
        self._duration = 0
        self._ended = True

    def add(self, rtp_ts: int, payload: bytes) -> str | None:
        """Feed one telephone-event payload; return the digit when this packet starts an event."""
        if len(payload) < EVENT_PAYLOAD_LEN:
            self.malformed += 1
            return None
        event = payload[0]
        ended = bool(payload[1] & 0x80)
        duration = (payload[2] << 8) | payload[3]
        if rtp_ts == self._ts and event == self._event:
            self._ended = self._ended or ended
            self._duration = max(self._duration, duration)
            return None
        continuation = event == self._event and not self._ended and self._duration >= MAX_DURATION
        self._ts = rtp_ts
        self._event = event
        self._ended = ended
        self._duration = duration
        if continuation:
            return None
        if event < len(DTMF_EVENTS):
            digit = DTMF_EVENTS[event]
            self.digits += digit
            return digit
        self.other_events += 1
        return None


def looks_like_event(payload: bytes) -> bool:
    """One RFC 4733 DTMF event payload: 4 bytes, event 0..16, reserved bit clear."""
    return (
        len(payload) == EVENT_PAYLOAD_LEN
        and payload[0] <= FLASH_EVENT
        and not payload[1] & RESERVED_BIT
    )


class EventGuess:
    """Is a dynamic payload type that no SDP mapped an RFC 4733 telephone-event (RTP without
    SDP, as Wireshark decodes PT 101 by default)? Confirmed by the shape of its packets: every
    payload looks like an event (:func:`looks_like_event`) and two packets in a row carry the
    same timestamp and event with a duration that does not shrink (updates of one event, or
    its end-of-event copies), which audio never does. Refuted by one payload of another shape
    or after :data:`GUESS_PACKETS` packets without confirmation. The packets seen before the
    decision are kept (4 bytes each) to be counted and decoded once it is confirmed."""

    __slots__ = ("_duration", "_event", "_ts", "pending", "state")

    def __init__(self) -> None:
        self.state: bool | None = None
        """None while undecided, then True (telephone-event) or False."""
        self.pending: list[tuple[float, int, bytes]] = []
        """(arrival, RTP timestamp, payload) of the packets seen while undecided."""
        self._ts = -1
        self._event = -1
        self._duration = -1

    def add(self, arrival: float, rtp_ts: int, payload: bytes) -> bool | None:
        """Feed one packet of the payload type; the decision so far."""
        if self.state is not None:
            return self.state
        if not looks_like_event(payload):
            self.state = False
            self.pending = []
            return False
        event = payload[0]
        duration = (payload[2] << 8) | payload[3]
        if rtp_ts == self._ts and event == self._event and duration >= self._duration:
            self.state = True
        self.pending.append((arrival, rtp_ts, payload))
        self._ts, self._event, self._duration = rtp_ts, event, duration
        if self.state is None and len(self.pending) >= GUESS_PACKETS:
            self.state = False
            self.pending = []
        return self.state
