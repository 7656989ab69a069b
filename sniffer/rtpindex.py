"""The index of IPv4 RTP flows bound to calls: what the packet loop looks each frame up in.

The pure-Python build (the reference) uses a dict keyed by ``frame[26:38]``. The compiled
build uses :class:`sniffer._flowindex.FlowIndex`, a C hash table with the same mapping
behaviour and two more methods for the loop: ``find(frame)`` looks a frame up in place (no key
object, the key compared where it is stored), and ``prefetch(packets)`` requests the memory
the loop is about to read for a batch of frames (each one's slot, then its flow and the
object ``hint(key, obj)`` named for the flow: its current stream's statistics) at once.
With thousands of concurrent streams a stream's state is cold at each of its packets;
overlapping those cache misses is what keeps the cost per packet nearly flat as calls grow
(docs/BENCHMARKS.md "Cost per packet against concurrent calls").

The C index goes with the compiled modules (:mod:`sniffer.compiled`: built together, selected
together), so the pure pass of the tests exercises the dict and the compiled pass the index.
Its hash is keyed with random bytes per index: ports and addresses come from peers' SDP, and
must not be choosable to collide.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sniffer import compiled

if TYPE_CHECKING:
    from sniffer._flowindex import FlowIndex
    from sniffer.flows import Flow

HASH_KEY_BYTES = 16


def new_rtp_index() -> dict[bytes, Flow] | FlowIndex:
    """A new index: the C one when this process runs the compiled build, else a dict."""
    if compiled.implementation() != compiled.COMPILED:
        return {}
    from sniffer._flowindex import FlowIndex

    return FlowIndex(os.urandom(HASH_KEY_BYTES))
