"""Model of the receiver's playout (jitter) buffer, used for discard estimates and E-model delay.

An adaptive buffer of nominal depth :data:`JB_DEPTH_MS`. Its playout point (the *baseline*)
rests on the fastest relative transit time seen, and follows a transit that rises slowly: at
time t it is the lowest of ``transit(p) + JB_MAX_DRIFT * (t - arrival(p))`` over the packets p
received so far. A packet whose transit exceeds the baseline by more than the depth is played
out too late and counts as discarded.

So a sender whose clock runs slower or faster than the sniffer's (a replay at the wrong speed,
a cheap oscillator) moves the baseline along, as real adaptive buffers follow drift by
stretching or compressing the audio, and costs nothing up to :data:`JB_MAX_DRIFT` (10 %, far
above real oscillators' 100 ppm); a transit spike, a step or a faster rise is still lateness.
A packet beyond the depth that carries the marker bit (start of a talkspurt) or whose transit
step is :data:`JB_RESYNC_MS` or more (a gap or timestamp discontinuity, not jitter) re-anchors
the buffer instead, as real buffers re-synchronise. See docs/QUALITY.md.

``StreamStats`` keeps ``transit - JB_MAX_DRIFT * (arrival - first arrival)`` per packet: the
baseline is then its running minimum, which costs one comparison a packet.
"""

JB_DEPTH_MS = 60.0
"""Nominal depth of the playout buffer (ms); also the minimum buffer delay in the E-model."""
JB_MAX_DRIFT = 0.1
"""Largest rise of the transit time the baseline follows, in seconds per second (10 %)."""
JB_RESYNC_MS = 1000.0
"""A transit step of this size or more re-anchors the buffer instead of counting as late."""
