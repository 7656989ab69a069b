"""One call: summary, SIP ladder, streams with RTCP, per-second charts, audio, pcap, legs."""

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from gui.client import ApiClient, relay
from gui.deps import Api, Login, Operator
from gui.errors import ApiError
from gui.interim import ladder_svg, series_svg
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
    call = await api.get(f"/calls/{call_id}", token)
    flow_params = {"raw": "1", **({"legs": "1"} if legs else {})}
    (flow, flow_error), (series, series_error), (leg_list, _) = await asyncio.gather(
        _optional(api.get(f"/calls/{call_id}/sip", token, flow_params)),
        _optional(api.get(f"/calls/{call_id}/rtp-series", token)),
        _optional(api.get(f"/calls/{call_id}/legs", token)),
    )
    ladder = ladder_svg(flow, call, split_ports=split_ports) if flow else None
    charts = series_svg(series) if series else None
    return page(
        request,
        "call.html",
        {
            "call": call,
            "flow": flow,
            "flow_error": flow_error,
            "ladder": ladder,
            "charts": charts,
            "series_error": series_error,
            "legs": (leg_list or {}).get("items", []),
            "merged_legs": legs,
            "split_ports": split_ports,
            "operator": session.can("operator"),
        },
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
