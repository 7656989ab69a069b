"""FastAPI dependencies: the database connection of a request, who is calling, role checks."""

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.principal import Principal
from api.auth.tokens import API_TOKEN_PREFIX, TokenError, digest, read_access_token
from api.config import ApiConfig
from api.errors import ApiError
from db.connect import CONNECTION
from db.pool import DbPool
from db.queries import apiauth

_bearer = HTTPBearer(auto_error=False, description="a login access token or an API token")


async def config_of(request: Request) -> ApiConfig:
    """(async: a plain function dependency would be run in a worker thread, per request)"""
    cfg: ApiConfig = request.app.state.config
    return cfg


async def connection(request: Request) -> AsyncIterator[CONNECTION]:
    pool: DbPool = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


Conn = Annotated[CONNECTION, Depends(connection)]
Config = Annotated[ApiConfig, Depends(config_of)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def principal(
    request: Request,
    conn: Conn,
    cfg: Config,
    cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, checked against the database on every request: a disabled user, a
    revoked token or a logged-out session is refused at once."""
    if cred is None or cred.scheme.lower() != "bearer" or not cred.credentials:
        raise _unauthorized("authentication required: send Authorization: Bearer TOKEN")
    token = cred.credentials
    if token.startswith(API_TOKEN_PREFIX):
        tok = await apiauth.token_by_hash(conn, digest(token))
        now = apiauth.utcnow()
        if tok is None or tok.revoked_at is not None:
            raise _unauthorized("invalid or revoked API token")
        if tok.expires_at is not None and tok.expires_at <= now:
            raise _unauthorized("the API token has expired")
        await apiauth.touch_token(conn, tok.id)
        p = Principal("token", f"token:{tok.name}", tok.role, tok.sensor_scope, token_id=tok.id)
    else:
        try:
            claims = read_access_token(cfg.secret_key, token)
        except TokenError as exc:
            raise _unauthorized(str(exc)) from exc
        user, revoked = await apiauth.session_user(conn, claims.user_id, claims.jti)
        if user is None or revoked or user.session_epoch != claims.session_epoch:
            raise _unauthorized("the session has ended: log in again")
        if user.disabled:
            raise _unauthorized("the user is disabled")
        p = Principal(
            "user",
            user.username,
            user.role,
            user.sensor_scope,
            user_id=user.id,
            jti=claims.jti,
            expires_at=claims.expires_at,
        )
    request.state.principal = p
    return p


def require(role: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller, refused with 403 unless its role is ``role`` or above."""

    async def check(p: Annotated[Principal, Depends(principal)]) -> Principal:
        if not p.may(role):
            raise ApiError(403, "forbidden", f"this needs the {role} role (you are {p.role})")
        return p

    check.__name__ = f"require_{role}"
    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0
