"""Model of the receiver's playout (jitter) buffer, used for discard estimates and E-model delay.

A fixed buffer of :data:`JB_DEPTH_MS` anchored at the fastest relative transit time seen: a
packet whose transit exceeds the anchor by more than the depth would be played out too late and
counts as discarded. The deadline relaxes by :data:`JB_SKEW_PER_S` ms per second elapsed since
the anchor was set (a sender/sniffer clock mismatch up to 100 ppm is not mistaken for lateness).
A packet beyond the depth that carries the marker bit (start of a talkspurt) or whose transit
step is :data:`JB_RESYNC_MS` or more (a gap or timestamp discontinuity, not jitter) re-anchors
the buffer instead, as real buffers re-synchronise. See docs/QUALITY.md.
"""

JB_DEPTH_MS = 60.0
"""Nominal depth of the fixed playout buffer (ms); also the minimum buffer delay in the E-model."""
JB_SKEW_PER_S = 0.1
"""Deadline relaxation, ms per second since the anchor was set (100 ppm)."""
JB_RESYNC_MS = 1000.0
"""A transit step of this size or more re-anchors the buffer instead of counting as late."""
