"""Per-stream RTP quality: packets, loss, duplicates, order, delta and jitter agreeing with
Wireshark's RTP stream analysis, plus loss burstiness, playout-buffer discards and MOS.

The rules (docs/QUALITY.md has the full text):

* sequence: RFC 3550 A.1 extended sequence numbers; expected = highest - lowest + 1;
  lost = expected - packets (duplicates included, so it may be negative, as in tshark);
* jitter: RFC 3550 A.8 and section 6.4.1, J = (15 J + |D|) / 16 with D the transit difference
  to the previous packet *in order of arrival*: late (reordered) packets and duplicates feed
  the estimator and become the next packet's reference, as in RFC 3550 and tshark; max/mean
  jitter and max delta only over "regular" packets (not the first, not marker, not CN, not
  following CN, not timestamp-backwards, not older than the first packet); the mean is
  Wireshark's running m = (m (n - 1) + J) / n, n = earlier packets of the stream (kept here as
  the sum T = n m, see :meth:`StreamStats._mean_hold`);
* telephone-event packets and packets whose clock rate is unknown never touch the jitter
  estimator (they still count for packets, loss, duplicates, order and max delta).

:meth:`StreamStats.add` is the hot path: one comparison decides the common case (next sequence
number, same payload type); everything else goes to the ``_slow`` methods. Times are kept in
seconds and reported in ms.
"""

from typing import Any

from sniffer.rtp import emodel
from sniffer.rtp.burst import (
    SEQ_DUP,
    SEQ_LATE,
    SEQ_RESTART,
    LossTracker,
)
from sniffer.rtp.codecs import PT_CN, PT_CN_OLD, STATIC_PT
from sniffer.rtp.jitterbuffer import JB_DEPTH_MS, JB_MAX_DRIFT, JB_RESYNC_MS
from sniffer.seq import seq32_diff

TS_JUMP_MS = 1000.0
"""A timestamp running ahead of the arrival time by more than this (D < -1 s) is a sender
timestamp discontinuity, not jitter: the jitter reference restarts at that packet."""

_TS_JUMP_NEG = -TS_JUMP_MS / 1000.0
_JB_DEPTH = JB_DEPTH_MS / 1000.0
_JB_RESYNC = JB_RESYNC_MS / 1000.0
_JB_DRIFT = JB_MAX_DRIFT


TICKS_CACHE_MAX = 1024
"""Distinct payload maps whose tick tables are kept for the next stream (a table per stream
was a third of a call's memory at 10,000 concurrent calls)."""
_ticks_cache: dict[tuple[tuple[tuple[int, int], ...], frozenset[int]], dict[int, float]] = {}


def _ticks_for(pt_clock: dict[int, int], event_pts: frozenset[int]) -> dict[int, float]:
    """The shared (read-only) tick table of a payload map: payload type -> seconds per RTP
    clock tick, 0.0 for telephone-events and unknown clock rates."""
    key = (tuple(pt_clock.items()), event_pts)
    ticks = _ticks_cache.get(key)
    if ticks is None:
        ticks = {pt: 1.0 / rate for pt, (_name, rate) in STATIC_PT.items()}
        for pt, rate in pt_clock.items():
            ticks[pt] = 1.0 / rate if rate > 0 else 0.0
        for pt in event_pts:
            ticks[pt] = 0.0
        if len(_ticks_cache) >= TICKS_CACHE_MAX:
            _ticks_cache.clear()
        _ticks_cache[key] = ticks
    return ticks


class StreamStats(LossTracker):
    """Quality of one RTP stream (one SSRC on one 5-tuple), fed from the fast path."""

    __slots__ = (
        "_first_pt",
        "_last_cn",
        "_last_other",
        "_late",
        "_main_pt",
        "_ref_tick",
        "_skipped",
        "_ticks",
        "event_packets",
        "event_pts",
        "first_ts",
        "gap_end",
        "payload_types",
    )

    def __init__(self, pt_clock: dict[int, int], event_pts: frozenset[int] = frozenset()) -> None:
        LossTracker.__init__(self)
        # the fields of the common case (hotfields.py); times in seconds
        self._cur_pt = -1
        self._cur_tick = 0.0
        self._prev_arr = 0.0
        self._prev_rts = 0
        self._jit = 0.0
        # playout buffer model (jitterbuffer.py): transit minus the drift allowance
        self._rel = 0.0
        self._floor = 0.0
        # the maxima stay negative until a regular packet sets them
        self._max_jit = -1.0
        self._tsum = 0.0
        self._max_delta = -1.0
        self._ticks = _ticks_for(pt_clock, event_pts)
        """Payload type -> seconds per RTP clock tick; 0 = not fed to the jitter estimator.
        Shared by the streams of the same payload map: never changed in place."""
        self.event_pts = event_pts
        self.event_packets = 0
        self.first_ts = 0.0
        self.payload_types: set[int] = set()
        self._first_pt = -1
        self._main_pt = -1
        self._last_cn = False
        self._skipped = 0
        self._last_other = 0.0
        self._ref_tick = 0.0
        self.gap_end = 0.0
        """Arrival time of the packet that ended the largest gap (max delta)."""
        self._late = 0

    def add(self, seq: int, rtp_ts: int, arrival_ts: float, pt: int, marker: bool = False) -> None:
        """Account one packet. ``arrival_ts``: capture time, epoch seconds."""
        tick = self._cur_tick if pt == self._cur_pt else self._pt_slow(pt, seq, rtp_ts, arrival_ts)
        mx = self._max_ext + 1
        if (mx & 0xFFFF) == seq:
            self._max_ext = mx
        else:
            res = self._seq_slow(seq)
            if res:
                self._seq_irregular(res, pt, rtp_ts, arrival_ts, tick, marker)
                return
        if tick > 0.0:
            irregular = marker
        elif tick < 0.0:
            tick = -tick  # CN, or the first packet after CN
            irregular = True
        else:
            self._not_audio(pt, arrival_ts, marker)
            return
        dts = rtp_ts - self._prev_rts
        if dts < 0:
            dts += 0x100000000  # the 32-bit timestamp wrapped, or it went backwards:
            if dts >= 0x80000000:
                self._ts_jump(rtp_ts, arrival_ts)
                return
        # a backward step across the wrap leaves dts >= 2**31: D < -1 s below catches it
        delta = arrival_ts - self._prev_arr
        self._prev_arr = arrival_ts
        self._prev_rts = rtp_ts
        dd = delta - dts * tick
        if dd < _TS_JUMP_NEG:
            self._mean_hold()  # timestamp far ahead of arrival: the reference restarts here
            return
        j = self._jit
        j += ((dd if dd >= 0.0 else -dd) - j) * 0.0625  # J += (|D| - J) / 16
        self._jit = j
        rel = self._rel + dd - delta * _JB_DRIFT
        self._rel = rel
        if irregular:
            self._mean_hold()
        else:
            if delta > self._max_delta:
                # the gap to the previous packet of any kind (a digit's events fill audio gaps)
                other = arrival_ts - self._last_other
                if other < delta:
                    delta = other
                if delta > self._max_delta:
                    self._max_delta = delta
                    self.gap_end = arrival_ts
            if j > self._max_jit:
                self._max_jit = j
            self._tsum += j
        if rel < self._floor:
            self._floor = rel
        elif rel > self._floor + _JB_DEPTH:
            self._jb_slow(rel, dd, marker)

    def _pt_slow(self, pt: int, seq: int, rtp_ts: int, arrival_ts: float) -> float:
        """The payload type differs from the previous packet's: signed tick for this packet."""
        if self._first_pt < 0:
            self._first_pt = pt
            self.first_ts = arrival_ts
            self._seq_start(seq)
        tick = self._ticks.get(pt, 0.0)
        is_cn = pt in (PT_CN, PT_CN_OLD)
        self._cur_pt = pt
        self.payload_types.add(pt)
        if self._main_pt < 0 and not is_cn and pt not in self.event_pts:
            self._main_pt = pt
        if not tick:
            self._cur_tick = 0.0
            return 0.0
        follows_cn = self._last_cn
        self._last_cn = is_cn
        self._cur_tick = -tick if is_cn else tick
        if tick != self._ref_tick:
            # first packet of the jitter estimator, or the RTP clock rate changed: the packet
            # is its own reference (D = 0) and is not regular
            self._ref_tick = tick
            self._prev_arr = arrival_ts
            self._prev_rts = rtp_ts
            return -tick
        return -tick if is_cn or follows_cn else tick

    def _not_audio(self, pt: int, arrival_ts: float, marker: bool) -> None:
        """Telephone-event or unknown clock rate: counted, never fed to the jitter estimator;
        an arrival gap needs no clock, so max delta still sees it."""
        self._skipped += 1
        if pt in self.event_pts:
            self.event_packets += 1
        prev = self._prev_arr if self._prev_arr > self._last_other else self._last_other
        if not marker and prev > 0.0:  # prev is 0 before the stream's first packet
            delta = arrival_ts - prev
            if delta > self._max_delta:
                self._max_delta = delta
                self.gap_end = arrival_ts
        self._last_other = arrival_ts

    def _seq_irregular(
        self, res: int, pt: int, rtp_ts: int, arrival_ts: float, tick: float, marker: bool
    ) -> None:
        """A duplicate, late, probation or restart packet."""
        if not tick:
            self._not_audio(pt, arrival_ts, marker)
            return
        if res in (SEQ_LATE, SEQ_DUP):
            self._out_of_order(res == SEQ_LATE, rtp_ts, arrival_ts, tick, marker)
            return
        # a probation packet, or one older than the first packet: not fed, not a reference
        self._last_other = arrival_ts
        if res == SEQ_RESTART:
            self._prev_arr = arrival_ts
            self._prev_rts = rtp_ts
        self._mean_hold()

    def _out_of_order(
        self, late: bool, rtp_ts: int, arrival_ts: float, tick: float, marker: bool
    ) -> None:
        """A late packet or a duplicate: fed to the estimator in order of arrival (RFC 3550
        section 6.4.1, as tshark) and the next packet's reference; a late packet still meets
        (or misses) its playout deadline, a duplicate is not played."""
        irregular = marker or tick < 0.0
        if tick < 0.0:
            tick = -tick
        dts = seq32_diff(rtp_ts, self._prev_rts)
        delta = arrival_ts - self._prev_arr
        dd = delta - dts * tick
        if dd < _TS_JUMP_NEG:
            self._last_other = arrival_ts  # from another timestamp timeline: not comparable
            self._mean_hold()
            return
        self._prev_arr = arrival_ts
        self._prev_rts = rtp_ts
        j = self._jit
        j += ((dd if dd >= 0.0 else -dd) - j) * 0.0625
        self._jit = j
        rel = self._rel + dd - delta * _JB_DRIFT
        self._rel = rel
        if irregular:
            self._mean_hold()
        else:
            other = arrival_ts - self._last_other
            if other < delta:
                delta = other
            if delta > self._max_delta:
                self._max_delta = delta
                self.gap_end = arrival_ts
            if j > self._max_jit:
                self._max_jit = j
            self._tsum += j
        if late:
            if rel < self._floor:
                self._floor = rel
            elif rel > self._floor + _JB_DEPTH:
                self._late += 1

    def _ts_jump(self, rtp_ts: int, arrival_ts: float) -> None:
        """An in-order packet whose timestamp goes backwards: the reference restarts here."""
        self._prev_arr = arrival_ts
        self._prev_rts = rtp_ts
        self._mean_hold()

    def _mean_hold(self) -> None:
        """Non-regular packet: Wireshark keeps the mean but counts the packet in n, i.e.
        T = n m grows by m (T / (n - 1)) with n the audio packets before this one."""
        n = self.audio_packets - 1
        if n > 1:
            self._tsum += self._tsum / (n - 1)

    def _jb_slow(self, rel: float, dd: float, marker: bool) -> None:
        """A packet beyond the buffer depth: re-anchor, or count it as discarded."""
        if marker or dd >= _JB_RESYNC:
            self._floor = rel
        else:
            self._late += 1

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its stream (``--workers``): made again through ``__init__`` (a class
        compiled by mypyc cannot be made without it), then every attribute restored."""
        return StreamStats, ({}, self.event_pts), self.__getstate__()

    def mark_event_pt(self, pt: int) -> None:
        """``pt`` turned out to carry RFC 4733 telephone-events (RTP without SDP, recognised by
        the payloads' shape): its packets so far count as events from now on."""
        if pt in self.event_pts:
            return
        self.event_pts = self.event_pts | {pt}
        self._ticks = {**self._ticks, pt: 0.0}  # shared: copied, not changed
        if pt == self._cur_pt:
            self._cur_tick = 0.0
        if self._main_pt == pt:
            self._main_pt = -1

    def add_event_packets(self, n: int) -> None:
        """``n`` packets already counted before :meth:`mark_event_pt` were events."""
        self.event_packets += n

    # --- results ---

    @property
    def audio_packets(self) -> int:
        """Packets fed to the jitter estimator (known clock rate, not telephone-event)."""
        return self.packets - self._skipped

    @property
    def last_ts(self) -> float:
        """Latest arrival time of a packet of the stream."""
        return max(self._prev_arr, self._last_other)

    @property
    def max_delta_ms(self) -> float | None:
        """Largest arrival gap of a regular packet; None when no packet measured one."""
        return self._max_delta * 1000.0 if self._max_delta >= 0.0 else None

    @property
    def max_jitter_ms(self) -> float | None:
        """Largest J after a regular audio packet; None when the jitter was not computed (no
        regular packet of a known clock rate)."""
        return self._max_jit * 1000.0 if self._max_jit >= 0.0 else None

    @property
    def mean_jitter_ms(self) -> float | None:
        if self._max_jit < 0.0:
            return None
        n = self.audio_packets - 1
        return self._tsum * 1000.0 / n if n > 0 else 0.0

    @property
    def jitter_ms(self) -> float:
        """Current RFC 3550 interarrival jitter estimate J (ms)."""
        return self._jit * 1000.0

    @property
    def payload_type(self) -> int:
        """First audio payload type (not CN, not telephone-event); else the first one seen."""
        return self._main_pt if self._main_pt >= 0 else self._first_pt

    @property
    def playout_discards(self) -> int:
        """Audio packets the playout buffer model (jitterbuffer.py) discards as too late."""
        return self._late

    @property
    def playout_discard_pct(self) -> float | None:
        """Share of audio packets the playout buffer model discards; None without audio."""
        n = self.audio_packets
        return self._late * 100.0 / n if n > 0 else None

    def mos(self, encoding: str, ptime_ms: float | None = None) -> float | None:
        """E-model MOS (emodel.mos_for); None with fewer than 2 audio packets or for an
        encoding the E-model has no impairment values for (codecs.impairment_for)."""
        if self.audio_packets < 2:
            return None
        return emodel.mos_for(
            encoding,
            self.missing_pct,
            self.burst_ratio,
            self.mean_jitter_ms or 0.0,
            self.playout_discard_pct or 0.0,
            ptime_ms,
        )
