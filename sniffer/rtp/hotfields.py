"""What :meth:`sniffer.rtp.stats.StreamStats.add` reads and writes for an in-order packet, first
in a stream's memory layout.

With thousands of concurrent streams, a stream's state is cold at each of its packets: every
cache line the fast path touches is a miss. A class's fields are laid out base class first
(compiled: in declaration order; pure Python: each class's slots in name order), so this base
of :class:`~sniffer.rtp.burst.LossTracker` puts the fields of the common case in the object's
first two cache lines, next to its reference count, instead of spread over five. Its
subclasses own and initialise every field; this class holds no behaviour.
"""


class StreamHot:
    """The fields of the common case (next sequence number, same payload type): the loss
    tracker's highest extended sequence number, then the jitter, delta and playout state."""

    __slots__ = (
        "_cur_pt",
        "_cur_tick",
        "_floor",
        "_jit",
        "_max_delta",
        "_max_ext",
        "_max_jit",
        "_prev_arr",
        "_prev_rts",
        "_rel",
        "_tsum",
    )

    _max_ext: int
    _cur_pt: int
    _cur_tick: float
    _prev_arr: float
    _prev_rts: int
    _jit: float
    _rel: float
    _floor: float
    _max_jit: float
    _tsum: float
    _max_delta: float
