"""Rules on the signalling: high_pdd, sip_retransmissions, no_ack, bye_unanswered."""

from __future__ import annotations

from collections.abc import Iterator

from sniffer.diagnosis.facts import Facts
from sniffer.diagnosis.registry import rule


@rule("high_pdd")
def high_pdd(f: Facts) -> Iterator[str]:
    """Post-dial delay (``pdd_ms``) above ``pdd_max_ms``."""
    pdd = f.rec.pdd_ms
    if pdd is not None and pdd > f.cfg.pdd_max_ms:
        to = "first 18x" if f.notes.first_18x_ts is not None else "final response"
        yield f"PDD {pdd / 1000.0:.2f} s (INVITE to {to})"


@rule("sip_retransmissions")
def sip_retransmissions(f: Facts) -> Iterator[str]:
    """More than ``retransmissions_max`` SIP retransmissions in the call."""
    n = f.rec.retransmissions
    if n > f.cfg.retransmissions_max:
        kinds = sorted(f.notes.retransmitted.items(), key=lambda kv: (-kv[1], kv[0]))
        what = ", ".join(f"{label} x{count}" for label, count in kinds)
        yield f"{n} retransmissions" + (f": {what}" if what else "")


@rule("no_ack")
def no_ack(f: Facts) -> Iterator[str]:
    """A 2xx to the initial INVITE, no ACK of it seen, and the call seen at least
    ``ack_wait_s`` after the 2xx."""
    answer = f.rec.answer_ts
    if answer is None or f.notes.ack_ts is not None:
        return
    seen = f.call.last_packet_ts() - answer
    if seen >= f.cfg.ack_wait_s:
        yield f"{f.rec.final_code} at +{answer - f.rec.invite_ts:.2f} s never ACKed ({seen:.1f} s seen after it)"


@rule("bye_unanswered")
def bye_unanswered(f: Facts) -> Iterator[str]:
    """A BYE without any final response."""
    if f.bye_ts is not None and f.rec.bye_code is None:
        by = f.rec.hangup_by or "a side"
        yield f"BYE from {by} at +{f.bye_ts - f.rec.invite_ts:.2f} s got no response"
