"""The calls page: search form, results table, keyset paging, CSV export of the search."""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from gui.client import ApiClient, relay, together
from gui.deps import Api, Login
from gui.errors import BadInput
from gui.render import page
from gui.search import OUTCOMES, PAGE_SIZES, STATES, Search, chips

router = APIRouter()


async def sensors_of(api: ApiClient, token: str | None) -> list[dict[str, Any]]:
    """The sensors the user sees (id, name, status...)."""
    data = await api.get_cached("/sensors", token)
    items: list[dict[str, Any]] = data["items"]
    return items


@router.get("/calls")
async def calls(request: Request, session: Login, api: Api) -> Response:
    search = Search(request.query_params)
    error: str | None = None
    result: dict[str, Any] = {"items": [], "next_cursor": None}
    listing = api.get("/calls", session.token, search.api_params())
    try:
        result, sensors = await together(listing, sensors_of(api, session.token))
    except BadInput as exc:
        error = f"{exc}"
        sensors = await sensors_of(api, session.token)
    names = {s["id"]: s["name"] for s in sensors}
    fresh_install = not result["items"] and search.empty and not search.cursor and error is None
    return page(
        request,
        "calls.html",
        {
            "search": search,
            "calls": result["items"],
            "next_cursor": result["next_cursor"],
            "sensors": sensors,
            "sensor_names": names,
            "chips": chips(search),
            "states": STATES,
            "outcomes": OUTCOMES,
            "page_sizes": PAGE_SIZES,
            "error": error,
            "fresh_install": fresh_install,
        },
        400 if error else 200,
    )


@router.get("/calls/export.csv")
async def export(request: Request, session: Login, api: Api) -> Response:
    """The current search, every page, as CSV streamed from the API."""
    search = Search(request.query_params)
    upstream = await api.open_stream("/calls/export", session.token, search.export_params("csv"))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        relay(upstream),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="callsift-calls-{stamp}.csv"'},
        background=BackgroundTask(upstream.aclose),
    )
