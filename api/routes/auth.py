"""``/auth``: log in (throttled per user and per source IP), log out, who am I, my password."""

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.audit import audit
from api.auth.passwords import DUMMY_HASH, hash_password, verify_password, weakness
from api.auth.principal import Principal
from api.auth.tokens import issue_access_token
from api.deps import Config, Conn, client_ip, principal
from api.errors import ApiError, error_responses
from api.schemas.auth import LoginRequest, Me, PasswordChange, TokenResponse
from db.queries import apiauth
from db.queries.audit import LOGIN, LOGIN_FAILED, failed_logins

log = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])
Caller = Annotated[Principal, Depends(principal)]


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=error_responses(401, 422, 429),
    summary="Log in with a user name and password; returns a bearer access token",
)
async def login(body: LoginRequest, request: Request, conn: Conn, cfg: Config) -> TokenResponse:
    ip = client_ip(request)
    since = apiauth.utcnow() - dt.timedelta(seconds=cfg.login_window_s)
    by_user, by_ip = await failed_logins(conn, username=body.username, ip=ip, since=since)
    if by_user >= cfg.login_max_failures_user or by_ip >= cfg.login_max_failures_ip:
        log.warning("login throttled for %r from %s", body.username, ip)
        await audit(
            conn,
            request,
            None,
            "login_throttled",
            body.username,
            actor=body.username[:64],
            actor_kind="anon",
        )
        raise ApiError(
            429,
            "too_many_requests",
            "too many failed logins: try again later",
            headers={"Retry-After": str(cfg.login_window_s)},
        )
    user = await apiauth.user_by_name(conn, body.username)
    ok, rehash = verify_password(user.password_hash if user else DUMMY_HASH, body.password)
    if user is None or not ok or user.disabled:
        reason = "unknown user" if user is None else "disabled" if ok else "bad password"
        log.warning("failed login for %r from %s (%s)", body.username, ip, reason)
        await audit(
            conn,
            request,
            None,
            LOGIN_FAILED,
            body.username,
            {"reason": reason},
            actor=body.username[:64],
            actor_kind="anon",
        )
        raise ApiError(
            401,
            "invalid_credentials",
            "wrong user name or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if rehash:
        await apiauth.rehash_password(
            conn, user.id, user.password_hash, hash_password(body.password)
        )
    token, _claims = issue_access_token(
        cfg.secret_key, user.id, user.session_epoch, cfg.token_lifetime_s
    )
    await apiauth.touch_login(conn, user.id)
    await audit(conn, request, None, LOGIN, user.username, actor=user.username, actor_kind="user")
    log.info("login of %r from %s", user.username, ip)
    return TokenResponse(
        access_token=token,
        expires_in=cfg.token_lifetime_s,
        username=user.username,
        role=user.role,  # type: ignore[arg-type]
    )


@router.post(
    "/logout",
    status_code=204,
    responses=error_responses(401),
    summary="End this login session (its token stops working at once)",
)
async def logout(request: Request, conn: Conn, who: Caller) -> Response:
    if who.jti is not None and who.expires_at is not None:
        expires = dt.datetime.fromtimestamp(who.expires_at, dt.UTC).replace(tzinfo=None)
        await apiauth.revoke_session(conn, who.jti, expires)
        await audit(conn, request, who, "logout")
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=error_responses(401), summary="Who am I")
async def me(who: Caller) -> Me:
    expires = (
        None
        if who.expires_at is None
        else dt.datetime.fromtimestamp(who.expires_at, dt.UTC).replace(tzinfo=None)
    )
    return Me(
        kind=who.kind,  # type: ignore[arg-type]
        name=who.name,
        role=who.role,  # type: ignore[arg-type]
        sensor_scope=list(who.sensor_scope) if who.sensor_scope is not None else None,
        expires_at=expires,
    )


@router.post(
    "/password",
    status_code=204,
    responses=error_responses(401, 403, 422),
    summary="Change my password (ends my other sessions)",
)
async def change_password(
    body: PasswordChange, request: Request, conn: Conn, who: Caller
) -> Response:
    if who.user_id is None:
        raise ApiError(403, "forbidden", "an API token has no password")
    user = await apiauth.user_by_id(conn, who.user_id)
    if user is None:
        raise ApiError(401, "unauthorized", "the session has ended: log in again")
    ok, _ = verify_password(user.password_hash, body.current_password)
    if not ok:
        await audit(conn, request, who, "password_change_failed")
        raise ApiError(403, "forbidden", "the current password is wrong")
    problem = weakness(body.new_password, user.username)
    if problem:
        raise ApiError(422, "weak_password", problem, field="new_password")
    await apiauth.update_user(conn, user.id, password_hash=hash_password(body.new_password))
    await audit(conn, request, who, "password_changed", user.username)
    return Response(status_code=204)
