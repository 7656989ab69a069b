"""Rules on what the RTP carries: silent_audio, codec_mismatch, poor_quality."""

from __future__ import annotations

from collections.abc import Iterator

from sniffer.diagnosis.facts import DIRECTIONS, Facts, arrow
from sniffer.diagnosis.registry import rule
from sniffer.rtp.codecs import PT_CN, PT_CN_OLD

_NOT_MEDIA = frozenset({"CN", "TELEPHONE-EVENT"})


@rule("silent_audio")
def silent_audio(f: Facts) -> Iterator[str]:
    """A direction's sampled G.711 packets (at least ``silence_min_samples``) are silent
    (mean level below ``silence_dbov``) in at least ``silent_share_pct`` % of the samples."""
    for side in DIRECTIONS:
        silent = total = 0
        for s in f.call.streams:
            if s.sender == side and s.level is not None:
                silent += s.level.silent
                total += s.level.total
        if total >= f.cfg.silence_min_samples and silent * 100.0 >= f.cfg.silent_share_pct * total:
            yield (
                f"{arrow(side)}: {silent} of {total} sampled G.711 packets below "
                f"{f.cfg.silence_dbov:g} dBov"
            )


@rule("codec_mismatch")
def codec_mismatch(f: Facts) -> Iterator[str]:
    """A stream carries a payload type whose codec the SDP answers did not agree (comfort
    noise and telephone-event aside); judged only when an answer was seen."""
    agreed = f.call.codecs
    if not agreed:
        return
    for s in f.call.streams:
        for pt in sorted(s.stats.payload_types):
            if pt in (PT_CN, PT_CN_OLD) or pt in s.stats.event_pts:
                continue
            name = s.payloads.encoding(pt)
            if name not in agreed and name not in _NOT_MEDIA:
                yield (
                    f"{arrow(s.sender)}: RTP payload type {pt} ({name}) not in the SDP "
                    f"answer ({', '.join(agreed)})"
                )


@rule("poor_quality")
def poor_quality(f: Facts) -> Iterator[str]:
    """A stream of at least ``quality_min_packets`` packets with a MOS below ``mos_min`` or a
    loss above ``loss_max_pct`` %."""
    cfg = f.cfg
    for s in f.rec.streams:
        if s.packets < cfg.quality_min_packets:
            continue
        bad_mos = s.mos is not None and s.mos < cfg.mos_min
        if bad_mos or s.loss_pct > cfg.loss_max_pct:
            mos = "no MOS" if s.mos is None else f"MOS {s.mos:.2f}"
            yield (
                f"{arrow(s.direction)} SSRC 0x{s.ssrc:08x}: {mos}, loss {s.loss_pct:.1f} % "
                f"({s.lost} of {s.packets + s.lost})"
            )
