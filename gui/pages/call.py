"""One call: summary, SIP ladder, streams with RTCP, per-second charts, audio, pcap, legs."""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from gui.charts import jitter_chart, loss_chart, rtp_streams
from gui.client import ApiClient, relay, together
from gui.deps import Api, Login, Operator
from gui.errors import ApiError, BadInput
from gui.ladder import (
    Flow,
    Ladder,
    LadderInputError,
    Media,
    build_ladder,
    ladder_fragment,
    render_html,
    render_svg,
    render_text,
)
from gui.render import page

router = APIRouter()
CallId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PASSED_HEADERS = ("content-type", "content-disposition", "content-length")


async def _optional(coro: Any) -> tuple[Any, str | None]:
    """A part of the page that may fail alone (no pcap, pcap gone): its data or the reason."""
    try:
        return await coro, None
    except ApiError as exc:
        if exc.status in (401, 503):
            raise
        return None, str(exc)


def _view(legs: bool, split_ports: bool) -> str:
    """The query string of a ladder view (legs merged, ports split), for links."""
    pairs = [("legs", "1")] if legs else []
    pairs += [("split_ports", "1")] if split_ports else []
    return "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "?"


def _ladder_links(call_id: int, legs: bool, split: bool, has_legs: bool) -> list[tuple[str, str]]:
    view = _view(legs, split)
    links = [
        ("Fold ports" if split else "Split ports", _view(legs, not split) + "#ladder"),
    ]
    if has_legs or legs:
        links.append(
            ("This leg only" if legs else "Merge legs", _view(not legs, split) + "#ladder")
        )
    for label, ext in (("SVG", "svg"), ("Text", "txt"), ("HTML", "html")):
        links.append((f"Export {label}", f"/calls/{call_id}/ladder.{ext}{view}"))
    return links


def _draw(flow: Any, call: Any, split: bool) -> Ladder:
    try:
        return build_ladder(Flow.from_api(flow), Media.from_api(call), split=split)
    except LadderInputError as exc:
        raise BadInput(f"the SIP flow cannot be drawn: {exc}") from exc


def _charts(series: Any) -> list[Any]:
    streams = rtp_streams(series)
    return [jitter_chart(streams), loss_chart(streams)] if streams else []


def _flow_params(legs: bool) -> dict[str, str]:
    return {"raw": "1", **({"legs": "1"} if legs else {})}


@router.get("/calls/{call_id}")
async def call_page(
    request: Request,
    call_id: CallId,
    session: Login,
    api: Api,
    legs: Annotated[bool, Query()] = False,
    split_ports: Annotated[bool, Query()] = False,
) -> Response:
    token = session.token
    call, (flow, flow_error), (series, series_error), (leg_list, _) = await together(
        api.get(f"/calls/{call_id}", token),
        _optional(api.get(f"/calls/{call_id}/sip", token, _flow_params(legs))),
        _optional(api.get(f"/calls/{call_id}/rtp-series", token)),
        _optional(api.get(f"/calls/{call_id}/legs", token)),
    )
    lad = None
    if flow is not None:
        try:
            lad = _draw(flow, call, split_ports)
        except BadInput as exc:
            flow_error = str(exc)
    other_legs = (leg_list or {}).get("items", [])
    links = _ladder_links(call_id, legs, split_ports, bool(other_legs))
    return page(
        request,
        "call.html",
        {
            "call": call,
            "ladder": ladder_fragment(lad, links=links) if lad is not None else None,
            "truncated": lad is not None and lad.truncated,
            "flow_error": flow_error,
            "charts": _charts(series) if series else None,
            "series_error": series_error,
            "legs": other_legs,
            "operator": session.can("operator"),
        },
    )


def _standalone_svg(lad: Ladder) -> str:
    return render_svg(lad, standalone=True)


EXPORTS: dict[str, tuple[str, Callable[[Ladder], str]]] = {
    "svg": ("image/svg+xml", _standalone_svg),
    "txt": ("text/plain; charset=utf-8", render_text),
    "html": ("text/html; charset=utf-8", render_html),
}


@router.get("/calls/{call_id}/ladder.{ext}")
async def ladder_export(
    call_id: CallId,
    ext: Literal["svg", "txt", "html"],
    session: Login,
    api: Api,
    legs: Annotated[bool, Query()] = False,
    split_ports: Annotated[bool, Query()] = False,
) -> Response:
    """The ladder as a file: SVG, plain text (like sngrep's flow), or one HTML file."""
    call, flow = await together(
        api.get(f"/calls/{call_id}", session.token),
        api.get(f"/calls/{call_id}/sip", session.token, _flow_params(legs)),
    )
    lad = _draw(flow, call, split_ports)
    media, render = EXPORTS[ext]
    name = f"callsift-{call_id}-ladder.{ext}"
    return Response(
        render(lad),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def _download(api: ApiClient, path: str, token: str | None, params: Any) -> Response:
    upstream = await api.open_stream(path, token, params)
    headers = {k: upstream.headers[k] for k in PASSED_HEADERS if k in upstream.headers}
    media = headers.pop("content-type", "application/octet-stream")
    return StreamingResponse(
        relay(upstream),
        media_type=media,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )


@router.get("/calls/{call_id}/pcap")
async def pcap(
    call_id: CallId, session: Operator, api: Api, sip_only: Annotated[bool, Query()] = False
) -> Response:
    """The call's pcap (or its SIP only) under the API's Wireshark-friendly file name."""
    params = {"sip_only": "1"} if sip_only else None
    return await _download(api, f"/calls/{call_id}/pcap", session.token, params)


@router.get("/calls/{call_id}/audio.wav")
async def audio(
    call_id: CallId,
    session: Operator,
    api: Api,
    dir: Annotated[Literal["caller", "callee", "stereo"], Query()] = "stereo",
) -> Response:
    return await _download(api, f"/calls/{call_id}/audio.wav", session.token, {"dir": dir})
