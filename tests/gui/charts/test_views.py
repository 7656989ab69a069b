"""Charts from the API's answers: ``/calls/{id}/rtp-series`` and ``/stats``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

import pytest

from gui.charts import (
    ShapeError,
    calls_chart,
    failing_chart,
    jitter_chart,
    loss_chart,
    mos_chart,
    rtp_streams,
)

S = "{http://www.w3.org/2000/svg}"


def _groups(svg: str, cls: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter() if cls in (e.get("class") or "").split()]


def _second(t: float, lost: int = 0, expected: int = 50, jitter: float = 2.0) -> dict[str, Any]:
    return {
        "t": "2026-12-04T10:00:00Z",
        "offset_s": t,
        "packets": expected - lost,
        "expected": expected,
        "lost": lost,
        "jitter_ms_max": jitter,
        "jitter_ms_mean": jitter / 2,
        "max_delta_ms": 20.0,
    }


SERIES = {
    "call_id": 1,
    "streams": [
        {
            "index": 0,
            "direction": "caller",
            "ssrc": 1,
            "codec": "PCMU",
            "src": "10.0.0.1:4000",
            "dst": "10.0.0.2:5000",
            "seconds": [_second(1.5), _second(2.5, lost=5), _second(3.5, expected=0)],
        },
        {
            "index": 1,
            "direction": None,
            "ssrc": 2,
            "codec": "PCMA",
            "src": "10.0.0.2:5000",
            "dst": "10.0.0.1:4000",
            "seconds": [_second(1.6, jitter=9.0)],
        },
    ],
}
STATS: dict[str, Any] = {
    "interval_s": 3600,
    "intervals": [
        {"start": "2026-12-04T09:00:00Z", "calls": 10, "failed": 1},
        {"start": "2026-12-04T10:00:00Z", "calls": 4, "failed": 3},
    ],
    "mos_distribution": [
        {"low": 1.0, "high": 3.1, "count": 2},
        {"low": 3.1, "high": 4.0, "count": 5},
        {"low": 4.0, "high": None, "count": 30},
    ],
    "top_failing": [{"called": "+49 30 1234", "failed": 7, "calls": 9, "top_code": 486}],
}


def test_jitter_and_loss_per_second_of_each_stream() -> None:
    streams = rtp_streams(SERIES)
    assert [s.name for s in streams] == [
        "caller 10.0.0.1:4000 → 10.0.0.2:5000 PCMU",
        "stream 1 10.0.0.2:5000 → 10.0.0.1:4000 PCMA",
    ]
    assert [x.loss_pct for x in streams[0].seconds] == [0.0, 10.0, None]
    jitter = jitter_chart(streams)
    assert len(_groups(jitter, "series")) == 2
    assert "Jitter per second: caller" in (ET.fromstring(jitter).get("aria-label") or "")
    loss = loss_chart(streams)
    caller, _ = _groups(loss, "series")
    path = caller.find(f"{S}path")
    assert path is not None and path.get("d", "").count("L") == 1  # the third second has no value
    assert _groups(jitter_chart([]), "empty")


def test_dashboard_charts() -> None:
    calls = calls_chart(STATS)
    assert [b.get("class") for b in _groups(calls, "bar")] == ["bar", "bar hl"]
    assert "Calls per hour" in calls
    mos = mos_chart(STATS)
    assert [b.get("class") for b in _groups(mos, "bar")] == ["bar hl", "bar", "bar"]
    failing = failing_chart(STATS, link=lambda c: f"/calls?called={quote(c)}&outcome=failed")
    (bar,) = _groups(failing, "bar")
    a = bar.find(f"{S}a")
    assert a is not None and a.get("href") == "/calls?called=%2B49%2030%201234&outcome=failed"
    assert "7 of 9 calls, mostly 486" in "".join(bar.itertext())


@pytest.mark.parametrize("chart", [calls_chart, mos_chart, failing_chart])
def test_dashboard_charts_of_an_empty_range(chart: Any) -> None:
    assert _groups(chart({"interval_s": 300, "intervals": []}), "empty")


@pytest.mark.parametrize(
    ("chart", "data"),
    [
        (rtp_streams, {"streams": [{"index": "first"}]}),
        (rtp_streams, {"streams": [{"index": 0, "seconds": [{"packets": 1}]}]}),
        (calls_chart, {"intervals": [{"calls": 3}]}),
        (mos_chart, {"mos_distribution": [{"low": None, "count": 1}]}),
        (failing_chart, {"top_failing": ["+4930"]}),
    ],
)
def test_answers_not_shaped_like_the_apis_name_the_problem(
    chart: Any, data: dict[str, Any]
) -> None:
    with pytest.raises(ShapeError, match="not shaped like the API's answer"):
        chart(data)
