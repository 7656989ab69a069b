"""The analyzer's UDP flow table: every cached flow, the index of RTP flows bound to calls and
the orphans (RTP-looking flows bound to no call).

It alone adds and removes flows, so its invariants hold in one place: every RTP flow of the
index and every orphan is also in :attr:`FlowTable.flows`; a bound flow's key is in its
call's ``flow_keys`` (what frees it when the call ends); the orphans are bounded.

With ``analysis.rtp_batch`` the inline fast path does not update a stream's statistics packet
by packet: it appends the packet's few numbers to its flow's :attr:`~sniffer.flows.Flow.batch`,
and :meth:`FlowTable.flush` gives them to the statistics :data:`RTP_BATCH` at a time, so with
thousands of concurrent streams a stream's cold state is fetched once per batch. Off by
default: measured slower at 1,000 streams in both builds and no clear gain at 10,000
(docs/BENCHMARKS.md "Cost per packet against concurrent calls"). Statistics are only ever read after a flush (a
no-op without batches): every housekeeping tick, before a slow-path packet of the same flow, when a flow is
forgotten, at the end of input and before a crash-recovery snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sniffer.flows import RTP, Batch, Flow, split_key
from sniffer.rtpindex import new_rtp_index

if TYPE_CHECKING:
    from sniffer._flowindex import FlowIndex
    from sniffer.calls.call import Call

IPV4_KEY_LEN = 12
"""Only IPv4 flows are in the fast-path index (its key is ``frame[26:38]``)."""
RTP_BATCH = 8
"""Fast-path packets a flow holds before they go to its stream's statistics."""


def _no_fault(exc: Exception, ts: float, where: str, size: int = -1) -> None:
    raise exc


class FlowTable:
    """See the module docstring."""

    __slots__ = ("fault", "flows", "max_orphans", "orphans", "rtp")

    def __init__(self, max_orphans: int) -> None:
        self.flows: dict[bytes, Flow] = {}
        """Every cached UDP flow (RTP, RTCP, unbound), by 4-tuple key."""
        self.rtp: dict[bytes, Flow] | FlowIndex = new_rtp_index()
        """The IPv4 RTP flows bound to calls: what the inline fast path looks up (a dict in
        the pure build, the C index in the compiled one: :mod:`sniffer.rtpindex`)."""
        self.orphans: dict[bytes, Flow] = {}
        """The unbound flows (each reported as a stream once it ends, if it qualifies)."""
        self.max_orphans = max_orphans
        self.fault: Callable[[Exception, float, str, int], None] = _no_fault
        """Counts a packet whose statistics raised (the analyzer's guard), as the fast path
        would have: that packet is skipped, the rest of the batch goes on."""

    def flush(self, flow: Flow) -> None:
        """Give ``flow``'s batched fast-path packets to its current stream's statistics."""
        b = flow.batch
        flow.batch = None
        flow.batched = 0
        chain: list[Batch] = []
        while b is not None:
            chain.append(b)
            b = b[4]
        add = flow.stats.add
        pt = flow.pt
        for ts, seq, rts, b1, _older in reversed(chain):
            try:
                add(seq, rts, ts, pt, b1 > 127)
            except Exception as exc:
                self.fault(exc, ts, "packet", -1)

    def flush_all(self) -> None:
        """Every batch: before the statistics are read (housekeeping, end, snapshot)."""
        flush = self.flush
        for flow in self.rtp.values():
            if flow.batch is not None:
                flush(flow)

    def bind(self, key: bytes, flow: Flow) -> None:
        """A new flow of a call (``flow.call``)."""
        assert flow.call is not None
        self.flows[key] = flow
        if flow.kind == RTP and len(key) == IPV4_KEY_LEN:
            self.rtp[key] = flow
        flow.call.flow_keys.append(key)

    def add_orphan(self, key: bytes, flow: Flow) -> bool:
        """A new unbound flow; False (not kept) when :attr:`max_orphans` are tracked."""
        if len(self.orphans) >= self.max_orphans:
            return False
        self.flows[key] = flow
        self.orphans[key] = flow
        return True

    def remove_orphan(self, key: bytes) -> Flow | None:
        """Forget the flow at ``key``; the orphan it was, if it was one."""
        self.flows.pop(key, None)
        return self.orphans.pop(key, None)

    def idle_orphans(self, now: float, idle_s: float) -> list[bytes]:
        """The orphans with no packet for ``idle_s`` (capture time) or no stream at all."""
        return [
            k
            for k, f in self.orphans.items()
            if f.stream is None or now - f.stream.stats.last_ts >= idle_s
        ]

    def forget_call(self, call: Call) -> None:
        """``call`` ended: its flows go (their next packet is a new flow)."""
        for key in call.flow_keys:
            self.flows.pop(key, None)
            flow = self.rtp.pop(key, None)
            if flow is not None and flow.batch is not None:
                self.flush(flow)

    def release(self, call: Call, endpoint: tuple[bytes, int]) -> int:
        """Forget ``call``'s flows to or from ``endpoint`` (now another call's); returns how
        many. The streams counted so far stay in ``call``."""
        keep = []
        n = 0
        for key in call.flow_keys:
            src, dst, sport, dport = split_key(key)
            if (src, sport) == endpoint or (dst, dport) == endpoint:
                self.flows.pop(key, None)
                flow = self.rtp.pop(key, None)
                if flow is not None and flow.batch is not None:
                    self.flush(flow)
                n += 1
            else:
                keep.append(key)
        call.flow_keys = keep
        return n
