"""Live calls, registrations, SIP MESSAGEs, sensors."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gui.deps import Api, Login
from gui.pages.listing import Listing
from gui.render import page

router = APIRouter()
LIVE_REFRESH_S = 5
REG_VIEWS = {
    "current": ("/registrations", ("user", "domain"), ("registered", "failed")),
    "history": ("/registrations/history", ("user", "domain", "ip", "since", "until"), ()),
    "failures": ("/registrations/failures", ("user", "domain", "ip", "since", "until"), ()),
}


@router.get("/live")
async def live(
    request: Request,
    session: Login,
    api: Api,
    refresh: Annotated[bool, Query()] = True,
) -> Response:
    data = await api.get("/live-calls", session.token)
    calls = sorted(data["items"], key=lambda c: c["start"])
    return page(
        request,
        "live.html",
        {"calls": calls, "refresh": refresh, "refresh_s": LIVE_REFRESH_S},
    )


@router.get("/registrations")
async def registrations(
    request: Request,
    session: Login,
    api: Api,
    view: Annotated[Literal["current", "history", "failures"], Query()] = "current",
) -> Response:
    path, names, flags = REG_VIEWS[view]
    listing = await Listing(request, names, flags).load(api, session.token, path)
    return page(
        request,
        "registrations.html",
        {"view": view, "views": list(REG_VIEWS), "listing": listing},
        400 if listing.error else 200,
    )


@router.get("/messages")
async def messages(request: Request, session: Login, api: Api) -> Response:
    names = ("address", "ip", "since", "until")
    listing = await Listing(request, names).load(api, session.token, "/messages")
    return page(request, "messages.html", {"listing": listing}, 400 if listing.error else 200)


@router.get("/sensors")
async def sensors(request: Request, session: Login, api: Api) -> Response:
    data = await api.get("/sensors", session.token)
    return page(request, "sensors.html", {"sensors": data["items"]})
