"""Rules on when RTP flowed: no_rtp, one_way_audio, late_media, media_timeout, rtp_after_bye."""

from __future__ import annotations

from collections.abc import Iterator

from sniffer.calls.media import other_side
from sniffer.diagnosis.facts import DIRECTIONS, Facts, arrow, clip, holes, merge, overlap
from sniffer.diagnosis.registry import rule


@rule("no_rtp")
def no_rtp(f: Facts) -> Iterator[str]:
    """Answered, the call lasted past ``late_media_ms`` after the answer, and no RTP packet
    either way."""
    start, end = f.talk_window
    if not f.answered or end - start < f.cfg.late_media_ms / 1000.0:
        return
    if not any(f.packets.values()):
        yield f"0 RTP packets either way in {end - start:.1f} s after answer"


@rule("one_way_audio")
def one_way_audio(f: Facts) -> Iterator[str]:
    """Answered; one direction has no RTP at all while the other has some, over a talk window
    longer than ``one_way_gap_s``; or one direction is silent for more than ``one_way_gap_s``
    while the other flows."""
    if not f.answered:
        return
    start, end = f.talk_window
    gap = f.cfg.one_way_gap_s
    for side in DIRECTIONS:
        spans = f.flows[side]
        if len(spans) == 1:
            a, b = spans[0]
            if a < b and start < b and a < end and a - start <= gap and end - b <= gap:
                # the usual call: one span over the window, less edges no longer than the
                # gap; its holes are those edges, apart (a < b): none can exceed the gap
                continue
        other = other_side(side)
        theirs = clip(f.flows[other], start, end)
        if not theirs:
            continue
        mine = clip(f.flows[side], start, end)
        if not mine:
            if end - start > gap:
                yield f"{arrow(side)}: 0 RTP packets in {end - start:.1f} s after answer"
            continue
        quiet = overlap(merge(holes(mine, start, end)), theirs)
        worst = max(quiet, key=lambda iv: iv[1] - iv[0], default=None)
        if worst is not None and worst[1] - worst[0] > gap:
            yield (
                f"{arrow(side)}: no RTP for {worst[1] - worst[0]:.1f} s from "
                f"+{worst[0] - start:.1f} s after answer while {arrow(other)} flowed"
            )


@rule("late_media")
def late_media(f: Facts) -> Iterator[str]:
    """Answered; a direction whose RTP (not already flowing at the answer) starts more than
    ``late_media_ms`` after the answer."""
    if not f.answered:
        return
    start, _end = f.talk_window
    late_ms = f.cfg.late_media_ms
    for side in DIRECTIONS:
        first: float | None = None  # of the spans starting at or after the answer
        for a, b in f.flows[side]:
            if a <= start <= b:
                break  # already flowing at the answer
            if first is None and a >= start:
                first = a
        else:
            if first is not None and (first - start) * 1000.0 > late_ms:
                yield f"{arrow(side)}: first RTP {first - start:.2f} s after answer"


@rule("media_timeout")
def media_timeout(f: Facts) -> Iterator[str]:
    """Answered; after the first RTP of the call, no RTP either way for more than
    ``media_timeout_s`` before the call ended (the BYE, else the last SIP or RTP packet)."""
    if not f.answered:
        return
    start, end = f.talk_window
    both = merge(f.flows[DIRECTIONS[0]] + f.flows[DIRECTIONS[1]])
    both = clip(both, start, end)
    if not both:
        return
    first = both[0][0]
    if len(both) == 1 and both[0][1] > first:
        # one span (the usual call): the only hole is from its end to the call's
        a = both[0][1]
        if end - a > f.cfg.media_timeout_s:
            yield f"no RTP either way for {end - a:.1f} s from +{a - start:.1f} s after answer"
        return
    for a, b in holes(both, first, end):
        if b - a > f.cfg.media_timeout_s:
            yield f"no RTP either way for {b - a:.1f} s from +{a - start:.1f} s after answer"
            return


@rule("rtp_after_bye")
def rtp_after_bye(f: Facts) -> Iterator[str]:
    """RTP of a direction still arriving more than ``rtp_after_bye_s`` after the BYE."""
    if f.bye_ts is None:
        return
    for side in DIRECTIONS:
        spans = f.flows[side]
        if spans:
            late = spans[-1][1] - f.bye_ts
            if late > f.cfg.rtp_after_bye_s:
                yield f"{arrow(side)}: RTP until {late:.2f} s after the BYE"
