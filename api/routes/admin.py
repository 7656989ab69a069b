"""Admin: users, machine API tokens, the audit log."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.audit import audit
from api.auth.passwords import hash_password, weakness
from api.auth.tokens import digest, new_api_token
from api.deps import Admin, Config, Conn
from api.errors import ApiError, error_responses, not_found
from api.schemas.auth import (
    AuditList,
    AuditOut,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from api.timeutil import naive_utc
from db.queries import apiauth
from db.queries.audit import list_audit

router = APIRouter(tags=["admin"])
Id = Annotated[int, Path(ge=1, le=0xFFFFFFFF)]


def user_out(u: apiauth.User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        role=u.role,  # type: ignore[arg-type]
        disabled=u.disabled,
        sensor_scope=None if u.sensor_scope is None else list(u.sensor_scope),
        created_at=u.created_at,
        updated_at=u.updated_at,
        last_login_at=u.last_login_at,
    )


def token_out(t: apiauth.ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        role=t.role,  # type: ignore[arg-type]
        sensor_scope=None if t.sensor_scope is None else list(t.sensor_scope),
        created_by=t.created_by,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
    )


# -- users ---------------------------------------------------------------------------------------


@router.get("/users", response_model=UserList, responses=error_responses(401, 403))
async def users(conn: Conn, who: Admin) -> UserList:
    return UserList(items=[user_out(u) for u in await apiauth.list_users(conn)])


@router.post(
    "/users", status_code=201, response_model=UserOut, responses=error_responses(401, 403, 409, 422)
)
async def create_user(body: UserCreate, request: Request, conn: Conn, who: Admin) -> UserOut:
    problem = weakness(body.password, body.username)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    uid = await apiauth.create_user(
        conn, body.username, hash_password(body.password), body.role, body.sensor_scope
    )
    if uid is None:
        raise ApiError(409, "conflict", f"user {body.username!r} exists already")
    await audit(
        conn,
        request,
        who,
        "user_created",
        body.username,
        {"role": body.role, "sensor_scope": body.sensor_scope},
    )
    user = await apiauth.user_by_id(conn, uid)
    assert user is not None
    return user_out(user)


@router.get("/users/{user_id}", response_model=UserOut, responses=error_responses(401, 403, 404))
async def get_user(user_id: Id, conn: Conn, who: Admin) -> UserOut:
    user = await apiauth.user_by_id(conn, user_id)
    if user is None:
        raise not_found(f"no user with id {user_id}")
    return user_out(user)


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses=error_responses(401, 403, 404, 422)
)
async def update_user(
    user_id: Id, body: UserUpdate, request: Request, conn: Conn, who: Admin
) -> UserOut:
    """Change a user's role, scope, or password, or disable it; a disabled user, a new
    password or a new role ends the user's sessions at once."""
    user = await apiauth.user_by_id(conn, user_id)
    if user is None:
        raise not_found(f"no user with id {user_id}")
    new_hash = None
    if body.password is not None:
        problem = weakness(body.password, user.username)
        if problem:
            raise ApiError(422, "weak_password", problem, field="password")
        new_hash = hash_password(body.password)
    if user.id == who.user_id and (body.disabled or (body.role and body.role != "admin")):
        raise ApiError(422, "invalid_parameter", "you cannot disable or demote yourself")
    await apiauth.update_user(
        conn,
        user.id,
        role=body.role,
        disabled=body.disabled,
        sensor_scope=body.sensor_scope,
        clear_scope=body.all_sensors,
        password_hash=new_hash,
    )
    changes = body.model_dump(exclude_none=True, exclude={"password"})
    if new_hash:
        changes["password"] = "reset"
    await audit(conn, request, who, "user_changed", user.username, changes)
    updated = await apiauth.user_by_id(conn, user.id)
    assert updated is not None
    return user_out(updated)


# -- tokens --------------------------------------------------------------------------------------


@router.get("/tokens", response_model=TokenList, responses=error_responses(401, 403))
async def tokens(conn: Conn, who: Admin) -> TokenList:
    return TokenList(items=[token_out(t) for t in await apiauth.list_tokens(conn)])


@router.post(
    "/tokens",
    status_code=201,
    response_model=TokenCreated,
    responses=error_responses(401, 403, 422),
)
async def create_token(body: TokenCreate, request: Request, conn: Conn, who: Admin) -> TokenCreated:
    """A long-lived token for a machine: the secret is in this answer only."""
    token, prefix = new_api_token()
    expires = (
        None
        if body.expires_in_days is None
        else apiauth.utcnow() + dt.timedelta(days=body.expires_in_days)
    )
    tid = await apiauth.create_token(
        conn,
        name=body.name,
        token_hash=digest(token),
        prefix=prefix,
        role=body.role,
        sensor_scope=body.sensor_scope,
        created_by=who.name,
        expires_at=expires,
    )
    await audit(
        conn,
        request,
        who,
        "token_created",
        body.name,
        {"id": tid, "role": body.role, "expires_at": expires},
    )
    t = await apiauth.token_by_id(conn, tid)
    assert t is not None
    return TokenCreated(**token_out(t).model_dump(), token=token)


@router.delete("/tokens/{token_id}", status_code=204, responses=error_responses(401, 403, 404))
async def revoke_token(token_id: Id, request: Request, conn: Conn, who: Admin) -> Response:
    """Revoke now: the next request with the token is refused."""
    t = await apiauth.token_by_id(conn, token_id)
    if t is None or not await apiauth.revoke_token(conn, token_id):
        raise not_found(f"no active token with id {token_id}")
    await audit(conn, request, who, "token_revoked", t.name, {"id": token_id})
    return Response(status_code=204)


# -- audit log -----------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditList, responses=error_responses(401, 403, 422))
async def audit_log(
    conn: Conn,
    cfg: Config,
    who: Admin,
    action: Annotated[str | None, Query(max_length=32, examples=["login_failed"])] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]{1,19}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    before = int(cursor) if cursor else None
    rows = await list_audit(
        conn,
        before_id=before,
        limit=limit,
        action=action,
        actor=actor,
        since=naive_utc(since),
        until=naive_utc(until),
    )
    items = [
        AuditOut(
            id=r.id,
            ts=r.ts,
            actor=r.actor,
            actor_kind=r.actor_kind,
            action=r.action,
            target=r.target,
            ip=r.ip,
            detail=r.detail,
        )
        for r in rows
    ]
    return AuditList(items=items, next_cursor=str(rows[-1].id) if len(rows) == limit else None)
