"""The GUI's charts made from the REST API's answers: per-second jitter and loss of a call's
streams (``GET /calls/{id}/rtp-series``) and the dashboard's calls per interval, MOS
distribution and top failing destinations (``GET /stats``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gui.charts.bars import Bar, Bin, bar_chart, hbar_list, histogram
from gui.charts.line import Series, line_chart
from gui.charts.shape import reads
from gui.charts.svg import Html

MOS_BAD = 3.1
"""A MOS below this is bad (ITU-T G.107: many users dissatisfied)."""


@dataclass(frozen=True, slots=True)
class Second:
    offset_s: float
    packets: int
    expected: int
    lost: int
    jitter_ms_max: float
    jitter_ms_mean: float

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Second:
        return cls(
            offset_s=float(d["offset_s"]),
            packets=int(d.get("packets") or 0),
            expected=int(d.get("expected") or 0),
            lost=int(d.get("lost") or 0),
            jitter_ms_max=float(d.get("jitter_ms_max") or 0.0),
            jitter_ms_mean=float(d.get("jitter_ms_mean") or 0.0),
        )

    @property
    def loss_pct(self) -> float | None:
        return None if self.expected <= 0 else 100.0 * max(self.lost, 0) / self.expected


@dataclass(frozen=True, slots=True)
class StreamSeconds:
    """One stream of ``/calls/{id}/rtp-series``."""

    index: int
    direction: str | None
    codec: str
    src: str
    dst: str
    seconds: tuple[Second, ...]

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> StreamSeconds:
        return cls(
            index=int(d["index"]),
            direction=None if d.get("direction") is None else str(d["direction"]),
            codec=str(d.get("codec") or "?"),
            src=str(d.get("src") or "?"),
            dst=str(d.get("dst") or "?"),
            seconds=tuple(Second.from_api(s) for s in d.get("seconds") or ()),
        )

    @property
    def name(self) -> str:
        who = self.direction or f"stream {self.index}"
        return f"{who} {self.src} → {self.dst} {self.codec}"


@reads("RTP series")
def rtp_streams(series: Mapping[str, Any]) -> list[StreamSeconds]:
    """The streams of a ``GET /calls/{id}/rtp-series`` answer (ShapeError if not shaped so)."""
    return [StreamSeconds.from_api(s) for s in series.get("streams") or ()]


def _per_second(
    title: str,
    streams: Sequence[StreamSeconds],
    value: Callable[[Second], float | None],
    y_title: str,
    unit: str,
    width: float,
) -> Html:
    lines = [Series(s.name, tuple((x.offset_s, value(x)) for x in s.seconds)) for s in streams]
    return line_chart(
        title,
        lines,
        x_title="time since the INVITE (m:ss)",
        y_title=y_title,
        unit=unit,
        width=width,
        empty="No RTP in this call's capture",
    )


def jitter_chart(streams: Sequence[StreamSeconds], *, width: float = 640) -> Html:
    """Per-second jitter (the largest of each second, RFC 3550) of each stream."""
    return _per_second(
        "Jitter per second", streams, lambda x: x.jitter_ms_max, "jitter", " ms", width
    )


def loss_chart(streams: Sequence[StreamSeconds], *, width: float = 640) -> Html:
    """Per-second packet loss (lost / expected) of each stream."""
    return _per_second("Packet loss per second", streams, lambda x: x.loss_pct, "loss", " %", width)


def _when(start: str, interval_s: int) -> str:
    t = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(dt.UTC)
    return t.strftime("%m-%d" if interval_s >= 86400 else "%H:%M")


def _per(interval_s: int) -> str:
    if interval_s >= 86400:
        return "day"
    if interval_s >= 3600:
        return "hour" if interval_s == 3600 else f"{interval_s // 3600} h"
    return f"{interval_s // 60} min"


@reads("statistics")
def calls_chart(stats: Mapping[str, Any], *, width: float = 640) -> Html:
    """Calls per interval of ``GET /stats`` (an interval with a failure rate over half red)."""
    step = int(stats.get("interval_s") or 3600)
    rows = list(stats.get("intervals") or ())
    labels = [_when(str(i["start"]), step) for i in rows]
    bad = {
        k
        for k, i in enumerate(rows)
        if i.get("calls") and 2 * int(i.get("failed") or 0) > int(i["calls"])
    }
    return bar_chart(
        f"Calls per {_per(step)}",
        labels,
        [float(i.get("calls") or 0) for i in rows],
        highlight=bad,
        y_title="calls",
        x_title="UTC",
        width=width,
        empty="No call in this range",
    )


@reads("statistics")
def mos_chart(stats: Mapping[str, Any], *, width: float = 640) -> Html:
    """Calls per MOS range of their worst stream; the ranges below 3.1 in red."""
    bins = [
        Bin(
            float(b["low"]),
            None if b.get("high") is None else float(b["high"]),
            float(b.get("count") or 0),
        )
        for b in stats.get("mos_distribution") or ()
    ]
    bad = {k for k, b in enumerate(bins) if b.high is not None and b.high <= MOS_BAD}
    return histogram(
        "MOS distribution (worst stream of each call)",
        bins,
        highlight=bad,
        y_title="calls",
        x_title="MOS",
        width=width,
        empty="No measured call in this range",
    )


@reads("statistics")
def failing_chart(
    stats: Mapping[str, Any],
    *,
    link: Callable[[str], str] | None = None,
    width: float = 640,
) -> Html:
    """The called numbers with most failed calls; ``link(called)`` makes each bar a link (to
    the calls search, for instance)."""
    bars = []
    for f in stats.get("top_failing") or ():
        called = str(f.get("called") or "")
        code = f.get("top_code")
        note = f"of {int(f.get('calls') or 0)} calls" + (f", mostly {code}" if code else "")
        bars.append(
            Bar(
                called or "(none)",
                float(f.get("failed") or 0),
                note,
                link(called) if link else None,
            )
        )
    return hbar_list(
        "Top failing destinations", bars, width=width, empty="No failed call in this range"
    )
