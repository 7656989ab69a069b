"""A worker's share of one call (a :class:`Part`) and the merge of the parts into one call.

Every worker tracks every call (all SIP reaches all of them), so each part carries the same
SIP state; what differs is what came with the RTP a worker holds: its streams, their RTCP,
the RFC 4733 digits. The merged call is the part with the most SIP (they are equal unless a
message came between two workers' closes) with every part's streams, in the order their
first packets came, as one process would have them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sniffer.calls.call import Call
from sniffer.calls.state import CallState

DRAINED = frozenset({"unterminated", "shutdown"})
"""Close reasons of calls still open at the end of input: a timeout when every worker had
found the call idle for ``analysis.call_timeout_s``."""


@dataclass(slots=True)
class Part:
    """What one worker knew of one call when it closed it."""

    worker: int
    uid: str
    reason: str
    """Why the worker closed it: a :class:`CallState` (the SIP end, ``timeout``) or
    ``unterminated`` / ``shutdown`` for the calls open at the end of input."""
    idle: bool
    """Idle for the call timeout in this worker when it was closed."""
    call: Call
    pcap: str | None
    """The worker's pcap of the call (worker 0: the call's file; others: a fragment)."""


def detach(call: Call) -> Call:
    """``call`` without what belongs to its process (open files, flow keys), to be pickled."""
    call.pcap = None
    call.flow_keys = []
    call.media_targets = []
    call.snapshot_cache = None
    for s in call.streams:
        s.pcap = None
    return call


def merged_reason(parts: list[Part]) -> str:
    """The close reason of the assembled call (only read when the SIP gave it no end)."""
    reasons = [str(p.reason) for p in parts]
    if CallState.TIMEOUT.value in reasons:
        return CallState.TIMEOUT.value
    if all(r in DRAINED for r in reasons) and all(p.idle for p in parts):
        return CallState.TIMEOUT.value
    return reasons[0]


def merge_calls(parts: list[Part]) -> Call:
    """One call out of the workers' parts (``parts`` in worker order, at least one)."""
    base = max(parts, key=lambda p: (p.call.sip_messages, -p.worker)).call
    if len(parts) == 1:
        return base
    others = [p.call for p in parts if p.call is not base]
    streams = [s for p in parts for s in p.call.streams]
    base.streams = sorted(streams, key=lambda s: s.stats.first_ts if s.stats.packets else 0.0)
    for other in others:
        base.rtcp.absorb(other.rtcp)
        base.flags |= other.flags
    # digits from SIP INFO are in every part, those from RTP in the part of their stream
    events: Counter[tuple[float, str]] = Counter()
    for p in parts:
        for e, n in Counter(p.call.dtmf_events).items():
            events[e] = max(events[e], n)
    base.dtmf_events = list(events.elements())
    return base
