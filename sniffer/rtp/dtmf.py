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
