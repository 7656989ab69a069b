"""What the diagnosis keeps of a call's SIP while it is in progress: the first 18x, the ACK of
the 2xx, the retransmissions per message, the media endpoints each side announced (and from
which signalling address), and the leg correlation keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sniffer.diagnosis.legkeys import KeySet, read_keys
from sniffer.diagnosis.legs import LegState

if TYPE_CHECKING:
    from sniffer.calls.call import Call
    from sniffer.sip.message import SipMessage

MAX_RETRANSMISSION_KINDS = 16
"""Distinct messages (``INVITE``, ``200 INVITE``...) whose retransmissions are counted apart."""
MAX_ANNOUNCED = 64


class CallNotes:
    """Per call: the SIP facts the rules need that the call record does not hold."""

    __slots__ = (
        "ack_ts",
        "announced",
        "first_18x_ts",
        "keys",
        "leg",
        "retransmitted",
        "seen_targets",
    )

    def __init__(self) -> None:
        self.first_18x_ts: float | None = None
        """First provisional 18x response to the initial INVITE."""
        self.ack_ts: float | None = None
        """ACK of the initial INVITE (its CSeq)."""
        self.retransmitted: dict[str, int] = {}
        self.announced: list[tuple[str, bytes, int, bytes]] = []
        """(side that receives there, ip, port, source address of the SDP's message)."""
        self.seen_targets = 0
        self.keys = KeySet()
        self.leg: LegState | None = None


def _label(msg: SipMessage) -> str:
    return msg.method[:20] if msg.is_request else f"{msg.status} {msg.method[:20]}"


def observe(
    call: Call, msg: SipMessage, ts: float, src: bytes, retransmission: bool, headers: tuple[str, ...]
) -> CallNotes:
    """Note one SIP message already applied to ``call`` (``retransmission``: the tracker
    counted it as one). ``headers``: lower-case names of the leg correlation headers."""
    notes = call.notes
    if notes is None:
        notes = call.notes = CallNotes()
    if retransmission:
        label = _label(msg)
        counts = notes.retransmitted
        if label in counts or len(counts) < MAX_RETRANSMISSION_KINDS:
            counts[label] = counts.get(label, 0) + 1
        return notes
    method = msg.method
    initial = msg.cseq_num == call.initial_cseq
    if msg.is_request:
        if method == "ACK" and initial and notes.ack_ts is None:
            notes.ack_ts = ts
    elif method == "INVITE" and initial and 180 <= msg.status < 190 and notes.first_18x_ts is None:
        notes.first_18x_ts = ts
    targets = call.media_targets
    if len(targets) > notes.seen_targets:
        for (ip, port), target in targets[notes.seen_targets :]:
            if not target.rtcp and len(notes.announced) < MAX_ANNOUNCED:
                notes.announced.append((target.side, ip, port, src))
        notes.seen_targets = len(targets)
    if method == "INVITE":
        read_keys(notes.keys, msg, headers)
    return notes
