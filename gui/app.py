"""The GUI application: pages (gui/pages/), the session middleware, one API client, and the
error pages every API failure ends up on."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gui.client import ApiClient
from gui.config import GuiConfig
from gui.errors import ApiError, CsrfError, NotLoggedIn
from gui.pages import ROUTERS
from gui.render import HERE, build_templates, page
from gui.session import Session, SessionCodec, SessionMiddleware

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' "
        "'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def create_app(config: GuiConfig, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The GUI; ``transport`` replaces the network to the API (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ApiClient(config, transport) as api:
            app.state.api = api
            yield

    app = FastAPI(
        title="callsift GUI", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.config = config
    app.state.templates = build_templates()
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _error_pages(app)

    app.add_middleware(
        SessionMiddleware,
        codec=SessionCodec(config.secret_key, config.session_lifetime_s),
        extra_headers=SECURITY_HEADERS,
    )
    return app


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        session: Session = request.scope["session"]
        why = "expired" if session.expired or session.token is not None else "login"
        if session.token is not None:
            session.logout()  # the API no longer takes this token: the GUI session ends too
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        if request.method != "GET" or target == "/":
            return RedirectResponse(f"/login?why={why}", status_code=303)
        return RedirectResponse(f"/login?why={why}&next={quote(target, safe='')}", 303)

    @app.exception_handler(CsrfError)
    async def csrf(request: Request, exc: CsrfError) -> Response:
        return page(request, "error.html", {"title": "Form refused", "message": str(exc)}, 403)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        titles = {403: "Not allowed", 404: "Not found", 429: "Too many attempts"}
        title = titles.get(exc.status, "Bad request" if exc.status < 500 else "API unavailable")
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return page(request, "error.html", {"title": title, "message": str(exc)}, exc.status)
