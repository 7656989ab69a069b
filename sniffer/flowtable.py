"""The analyzer's UDP flow table: every cached flow, the index of RTP flows bound to calls and
the orphans (RTP-looking flows bound to no call).

It alone adds and removes flows, so its invariants hold in one place: every RTP flow of the
index and every orphan is also in :attr:`FlowTable.flows`; a bound flow's key is in its
call's ``flow_keys`` (what frees it when the call ends); the orphans are bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sniffer.flows import RTP, Flow, split_key
from sniffer.rtpindex import new_rtp_index

if TYPE_CHECKING:
    from sniffer._flowindex import FlowIndex
    from sniffer.calls.call import Call
    from sniffer.calls.media import CallStream

IPV4_KEY_LEN = 12
"""Only IPv4 flows are in the fast-path index (its key is ``frame[26:38]``)."""


class FlowTable:
    """See the module docstring."""

    __slots__ = ("flows", "max_orphans", "orphans", "rtp")

    def __init__(self, max_orphans: int) -> None:
        self.flows: dict[bytes, Flow] = {}
        """Every cached UDP flow (RTP, RTCP, unbound), by 4-tuple key."""
        self.rtp: dict[bytes, Flow] | FlowIndex = new_rtp_index()
        """The IPv4 RTP flows bound to calls: what the inline fast path looks up (a dict in
        the pure build, the C index in the compiled one: :mod:`sniffer.rtpindex`)."""
        self.orphans: dict[bytes, Flow] = {}
        """The unbound flows (each reported as a stream once it ends, if it qualifies)."""
        self.max_orphans = max_orphans

    def bind(self, key: bytes, flow: Flow) -> None:
        """A new flow of a call (``flow.call``)."""
        assert flow.call is not None
        self.flows[key] = flow
        if flow.kind == RTP and len(key) == IPV4_KEY_LEN:
            self.rtp[key] = flow  # no statistics to hint yet: select() gives them
        flow.call.flow_keys.append(key)

    def select(self, flow: Flow, stream: CallStream, pt: int) -> None:
        """Make ``stream`` ``flow``'s current one (:meth:`Flow.select`); the C index then
        prefetches its statistics with the flow."""
        flow.select(stream, pt)
        index = self.rtp
        if not isinstance(index, dict):
            index.hint(flow.key, flow.stats)

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
            self.rtp.pop(key, None)

    def release(self, call: Call, endpoint: tuple[bytes, int]) -> int:
        """Forget ``call``'s flows to or from ``endpoint`` (now another call's); returns how
        many. The streams counted so far stay in ``call``."""
        keep = []
        n = 0
        for key in call.flow_keys:
            src, dst, sport, dport = split_key(key)
            if (src, sport) == endpoint or (dst, dport) == endpoint:
                self.flows.pop(key, None)
                self.rtp.pop(key, None)
                n += 1
            else:
                keep.append(key)
        call.flow_keys = keep
        return n
