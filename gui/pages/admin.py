"""Administration: users (create, role, scope, disable, reset password), API tokens (create:
the secret shown once; revoke), IP aliases of the ladder, the audit log."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from gui.deps import Admin, Api, Form
from gui.errors import BadInput, NotFound
from gui.pages.listing import Listing
from gui.render import page

router = APIRouter(prefix="/admin")
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
ROLES = ("viewer", "operator", "admin")
DONE = {
    "created": "User created.",
    "changed": "User changed (the user's sessions have ended where needed).",
    "revoked": "Token revoked: requests with it are refused from now on.",
    "alias": "Alias saved.",
    "unaliased": "Alias removed.",
}


def _scope(text: str) -> list[int] | None:
    """``"1, 2"`` -> [1, 2]; empty: every sensor. BadInput names the problem."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if not parts:
        return None
    if not all(p.isdigit() for p in parts):
        raise BadInput(f"sensors must be sensor ids separated by commas, got {text!r}", "sensors")
    return [int(p) for p in parts]


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


async def _users_page(
    request: Request, api: Api, token: str | None, error: str | None = None
) -> Response:
    users = (await api.get("/users", token))["items"]
    ctx = {"users": users, "roles": ROLES, "error": error, "done": _done(request)}
    return page(request, "admin_users.html", ctx, 400 if error else 200)


@router.get("/users")
async def users(request: Request, session: Admin, api: Api) -> Response:
    return await _users_page(request, api, session.token)


@router.post("/users")
async def create_user(request: Request, session: Admin, api: Api, form: Form) -> Response:
    try:
        body: dict[str, Any] = {
            "username": form.get("username", "").strip(),
            "password": form.get("password", ""),
            "role": form.get("role", ""),
            "sensor_scope": _scope(form.get("sensors", "")),
        }
        await api.send("POST", "/users", session.token, body)
    except BadInput as exc:
        return await _users_page(request, api, session.token, str(exc))
    return RedirectResponse("/admin/users?done=created", status_code=303)


@router.post("/users/{user_id}")
async def change_user(
    request: Request, user_id: Id, session: Admin, api: Api, form: Form
) -> Response:
    action = form.get("action", "")
    body: dict[str, Any]
    try:
        if action in ("disable", "enable"):
            body = {"disabled": action == "disable"}
        elif action == "role":
            body = {"role": form.get("role")}
        elif action == "scope":
            scope = _scope(form.get("sensors", ""))
            body = {"sensor_scope": scope, "all_sensors": scope is None}
        elif action == "password":
            body = {"password": form.get("password", "")}
        else:
            raise BadInput(f"unknown action {action!r}")
        await api.send("PATCH", f"/users/{user_id}", session.token, body)
    except BadInput as exc:
        return await _users_page(request, api, session.token, str(exc))
    return RedirectResponse("/admin/users?done=changed", status_code=303)


async def _tokens_page(
    request: Request, api: Api, token: str | None, error: str | None = None, created: Any = None
) -> Response:
    tokens = (await api.get("/tokens", token))["items"]
    ctx = {
        "tokens": tokens,
        "roles": ROLES,
        "error": error,
        "created": created,
        "done": _done(request),
    }
    return page(request, "admin_tokens.html", ctx, 400 if error else 201 if created else 200)


@router.get("/tokens")
async def tokens(request: Request, session: Admin, api: Api) -> Response:
    return await _tokens_page(request, api, session.token)


@router.post("/tokens")
async def create_token(request: Request, session: Admin, api: Api, form: Form) -> Response:
    """The new token's secret is on this answer only (no redirect, never stored by the GUI)."""
    days = form.get("expires_days", "").strip()
    try:
        if days and not days.isdigit():
            raise BadInput(f"expiry must be a number of days, got {days!r}", "expires_days")
        body = {
            "name": form.get("name", "").strip(),
            "role": form.get("role", ""),
            "expires_in_days": int(days) if days else None,
            "sensor_scope": _scope(form.get("sensors", "")),
        }
        created = await api.send("POST", "/tokens", session.token, body)
    except BadInput as exc:
        return await _tokens_page(request, api, session.token, str(exc))
    return await _tokens_page(request, api, session.token, created=created)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: Id, session: Admin, api: Api, form: Form
) -> Response:
    try:
        await api.send("DELETE", f"/tokens/{token_id}", session.token)
    except NotFound as exc:
        return await _tokens_page(request, api, session.token, str(exc))
    return RedirectResponse("/admin/tokens?done=revoked", status_code=303)


async def _aliases_page(
    request: Request, api: Api, token: str | None, error: str | None = None
) -> Response:
    aliases = (await api.get("/aliases", token))["items"]
    prefill = (request.query_params.get("ip") or "")[:45]
    ctx = {"aliases": aliases, "error": error, "done": _done(request), "prefill": prefill}
    return page(request, "admin_aliases.html", ctx, 400 if error else 200)


@router.get("/aliases")
async def aliases(request: Request, session: Admin, api: Api) -> Response:
    return await _aliases_page(request, api, session.token)


@router.post("/aliases")
async def set_alias(request: Request, session: Admin, api: Api, form: Form) -> Response:
    ip = form.get("ip", "").strip()
    try:
        if not ip:
            raise BadInput("enter the IP address to name", "ip")
        body = {"alias": form.get("alias", "").strip(), "note": form.get("note", "").strip()}
        path = f"/aliases/{quote(ip, safe='')}"
        if form.get("action") == "delete":
            await api.send("DELETE", path, session.token)
        else:
            await api.send("PUT", path, session.token, body)
    except (BadInput, NotFound) as exc:
        return await _aliases_page(request, api, session.token, str(exc))
    done = "unaliased" if form.get("action") == "delete" else "alias"
    return RedirectResponse(f"/admin/aliases?done={done}", status_code=303)


@router.get("/audit")
async def audit(request: Request, session: Admin, api: Api) -> Response:
    listing = await Listing(request, ("action", "actor", "since", "until")).load(
        api, session.token, "/audit"
    )
    return page(request, "admin_audit.html", {"listing": listing}, 400 if listing.error else 200)
