"""The dashboard: ASR, ACD, NER, PDD, calls per interval, peak concurrent calls, MOS
distribution, top failing destinations, SIP codes, over a chosen range."""

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gui.charts import Html, bar_chart, calls_chart, failing_chart, mos_chart
from gui.deps import Api, Login
from gui.errors import BadInput
from gui.render import page

router = APIRouter()
RANGES = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """A time from the URL; without a zone it is UTC."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _label(start: str, step: int) -> str:
    t = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    return t.strftime("%m-%d" if step >= 86400 else "%H:%M")


def _charts(stats: dict[str, Any]) -> list[Html]:
    step = stats["interval_s"]
    intervals = stats["intervals"]
    labels = [_label(i["start"], step) for i in intervals]
    per = f"{step // 60} min" if step < 3600 else ("hour" if step == 3600 else "day")
    frame: dict[str, Any] = {"x_title": "UTC", "empty": "No call in this range"}
    return [
        calls_chart(stats),
        bar_chart(
            f"Peak concurrent calls per {per}",
            labels,
            [float(i["peak_concurrent"]) for i in intervals],
            y_title="calls at once",
            **frame,
        ),
        mos_chart(stats),
    ]


def _failing(stats: dict[str, Any]) -> Html:
    return failing_chart(stats, link=lambda called: f"/calls?called={quote(called)}&outcome=failed")


@router.get("/dashboard")
async def dashboard(
    request: Request,
    session: Login,
    api: Api,
    range: Annotated[Literal["1h", "24h", "7d", "30d"], Query()] = "24h",
    sensor: Annotated[list[int] | None, Query()] = None,
    since: Annotated[dt.datetime | None, Query(description="instead of range (UTC)")] = None,
    until: Annotated[dt.datetime | None, Query(description="with since (UTC)")] = None,
) -> Response:
    custom = since is not None or until is not None
    now = _utc(until) or dt.datetime.now(dt.UTC).replace(microsecond=0)
    since = _utc(since) or now - RANGES[range]
    params = [("since", since.isoformat()), ("until", now.isoformat())]
    params += [("sensor", str(s)) for s in sensor or []]
    error, stats = None, None
    try:
        stats = await api.get("/stats", session.token, params)
    except BadInput as exc:
        error = str(exc)
    return page(
        request,
        "dashboard.html",
        {
            "stats": stats,
            "charts": _charts(stats) if stats else [],
            "failing": _failing(stats) if stats else None,
            "range": range,
            "ranges": list(RANGES),
            "error": error,
            "since": since,
            "until": now,
            "custom": custom,
        },
        400 if error else 200,
    )
