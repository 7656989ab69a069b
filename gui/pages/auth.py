"""Login, logout, and the front page."""

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from gui.deps import AnySession, Api, Form, Login
from gui.errors import ApiError, ApiUnavailable, BadInput, Forbidden, NotLoggedIn, Throttled
from gui.render import page

log = logging.getLogger(__name__)
router = APIRouter()
TOKEN_MARGIN_S = 10
"""The GUI session ends this long before the API's token does (clocks, a request in flight)."""
WHY = {
    "expired": "Your session has expired: please log in again.",
    "logout": "You are logged out.",
    "login": "Please log in.",
    "password": "Your password is changed: log in with the new one.",
}


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of this site only (never ``//host`` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/calls"
    return target


@router.get("/", include_in_schema=False)
async def home(session: AnySession) -> Response:
    return RedirectResponse("/calls" if session.logged_in else "/login", status_code=303)


@router.get("/login")
async def login_form(
    request: Request,
    session: AnySession,
    why: Annotated[str | None, Query(max_length=16)] = None,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if session.logged_in and why is None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(
        request,
        "login.html",
        {"notice": WHY.get(why or ""), "next": safe_next(next), "error": None},
    )


@router.post("/login")
async def login(request: Request, session: AnySession, api: Api, form: Form) -> Response:
    username = form.get("username", "").strip()
    target = safe_next(form.get("next"))
    ctx = {"notice": None, "next": target, "username": username}
    if not username or not form.get("password"):
        return page(
            request, "login.html", ctx | {"error": "Enter your user name and password."}, 400
        )
    client_ip = request.client.host if request.client else None
    try:
        data = await api.login(username, form["password"], client_ip)
    except NotLoggedIn:
        return page(request, "login.html", ctx | {"error": "Wrong user name or password."}, 401)
    except Throttled as exc:
        return page(request, "login.html", ctx | {"error": str(exc)}, 429)
    except ApiUnavailable as exc:
        return page(request, "login.html", ctx | {"error": str(exc)}, 503)
    except ApiError as exc:
        return page(request, "login.html", ctx | {"error": str(exc)}, 400)
    lifetime = request.app.state.config.session_lifetime_s
    now = time.time()
    expires = min(now + float(data["expires_in"]) - TOKEN_MARGIN_S, now + lifetime)
    session.login(data["access_token"], data["username"], data["role"], expires)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(session: AnySession, api: Api, form: Form) -> Response:
    if session.token is not None:
        try:
            await api.request("POST", "/auth/logout", session.token)
        except ApiError as exc:  # the GUI session ends whatever the API says
            log.info("logout at the API failed: %s", exc)
    session.logout()
    return RedirectResponse("/login?why=logout", status_code=303)


@router.get("/account")
async def account(request: Request, session: Login) -> Response:
    return page(request, "account.html", {"error": None})


@router.post("/account/password")
async def change_password(request: Request, session: Login, api: Api, form: Form) -> Response:
    """Change one's own password; the API ends the sessions of the old one, so log in again."""
    new = form.get("new_password", "")
    if new != form.get("again", ""):
        return page(request, "account.html", {"error": "The two new passwords differ."}, 400)
    body = {"current_password": form.get("current_password", ""), "new_password": new}
    try:
        await api.send("POST", "/auth/password", session.token, body)
    except (BadInput, Forbidden) as exc:
        return page(request, "account.html", {"error": str(exc)}, 400)
    session.logout()
    return RedirectResponse("/login?why=password", status_code=303)
