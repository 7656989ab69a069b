"""SIP MESSAGE (RFC 3428) records: who sent what to whom, and the answer."""

from __future__ import annotations

from collections.abc import Iterator

from db.records import MessageRecord
from sniffer.counters import Counters
from sniffer.netaddr import ip_to_text
from sniffer.sip.message import SipMessage

MESSAGE_TIMEOUT_S = 32.0
MAX_BODY_BYTES = 4096
"""Bodies are kept up to this size (UTF-8, invalid bytes replaced); longer ones are truncated."""


class MessageTracker:
    """Pending MESSAGE transactions by (Call-ID, CSeq)."""

    def __init__(self, counters: Counters, *, max_pending: int = 100_000) -> None:
        self.counters = counters
        self.max_pending = max_pending
        self.pending: dict[tuple[str, int], tuple[float, MessageRecord]] = {}

    def on_message(
        self, msg: SipMessage, ts: float, src: bytes, dst: bytes
    ) -> MessageRecord | None:
        key = (msg.call_id, msg.cseq_num)
        if msg.is_request:
            if key in self.pending:
                return None  # retransmission or relayed copy
            if len(self.pending) >= self.max_pending:
                self.counters.inc("message.table_full")
                return None
            body = msg.body[:MAX_BODY_BYTES]
            rec = MessageRecord(
                from_=msg.from_.uri,
                to=msg.to.uri,
                ts=round(ts, 6),
                body=body.decode("utf-8", errors="replace"),
                result_code=None,
                call_id=msg.call_id,
                src_ip=ip_to_text(src),
                dst_ip=ip_to_text(dst),
                truncated=len(msg.body) > MAX_BODY_BYTES or msg.body_truncated,
            )
            self.pending[key] = (ts + MESSAGE_TIMEOUT_S, rec)
            return None
        if msg.status < 200:
            return None
        entry = self.pending.pop(key, None)
        if entry is None:
            self.counters.inc("message.orphan_response")
            return None
        entry[1].result_code = msg.status
        return entry[1]

    def reap(self, now: float) -> Iterator[MessageRecord]:
        expired = [k for k, (deadline, _r) in self.pending.items() if now >= deadline]
        for k in expired:
            yield self.pending.pop(k)[1]

    def drain(self) -> Iterator[MessageRecord]:
        for _deadline, rec in self.pending.values():
            yield rec
        self.pending.clear()
