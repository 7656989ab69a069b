"""What the diagnosis keeps of a call's SIP while it is in progress: the first 18x, the ACK of
the 2xx, the retransmissions per message, the media endpoints each side announced (and from
which signalling address), and the leg correlation keys."""

from __future__ import annotations

from sniffer.diagnosis.legkeys import KeySet
from sniffer.diagnosis.legs import LegState

MAX_RETRANSMISSION_KINDS = 16
"""Distinct messages (``INVITE``, ``200 INVITE``...) whose retransmissions are counted apart."""
MAX_ANNOUNCED = 64


class CallNotes:
    """Per call: the SIP facts the rules need that the call record does not hold."""

    __slots__ = (
        "ack_ts",
        "announced",
        "first_18x_ts",
        "invite_cseq",
        "invite_ts",
        "keys",
        "leg",
        "retransmitted",
        "seen_targets",
    )

    def __init__(self) -> None:
        self.invite_ts: float | None = None
        """The last initial INVITE sent (after a 401/407: the one re-sent with credentials)."""
        self.invite_cseq = -1
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
