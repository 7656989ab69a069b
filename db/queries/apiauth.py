"""The REST API's principals: users (``api_user``), machine tokens (``api_token``, stored as a
SHA-256 of the secret) and revoked login sessions (``api_session_revoked``).

Times are naive UTC ``datetime``; a sensor scope is a tuple of sensor ids (None: every sensor).
The functions run in the caller's connection (the API's pool is autocommit)."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import translated

ROLES = ("viewer", "operator", "admin")
"""In increasing order of rights: each role may do what the ones before it may."""
_DUPLICATE_KEY = 1062


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def scope_text(scope: Sequence[int] | None) -> str | None:
    """Sensor scope as stored: comma-joined ids, None for every sensor."""
    return None if scope is None else ",".join(str(int(s)) for s in sorted(set(scope)))


def scope_from(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    return tuple(int(s) for s in text.split(",") if s.strip().isdigit())


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    disabled: bool
    sensor_scope: tuple[int, ...] | None
    session_epoch: int
    created_at: dt.datetime
    updated_at: dt.datetime
    last_login_at: dt.datetime | None
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    role: str
    sensor_scope: tuple[int, ...] | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


_USER_COLUMNS = (
    "id, username, role, disabled, sensor_scope, session_epoch, created_at, updated_at, "
    "last_login_at, password_hash"
)
_TOKEN_COLUMNS = (
    "id, name, prefix, role, sensor_scope, created_by, created_at, expires_at, revoked_at, "
    "last_used_at"
)


def _user(row: Sequence[Any]) -> User:
    return User(
        id=int(row[0]),
        username=str(row[1]),
        role=str(row[2]),
        disabled=bool(row[3]),
        sensor_scope=scope_from(row[4]),
        session_epoch=int(row[5]),
        created_at=row[6],
        updated_at=row[7],
        last_login_at=row[8],
        password_hash=str(row[9]),
    )


def _token(row: Sequence[Any]) -> ApiToken:
    return ApiToken(
        id=int(row[0]),
        name=str(row[1]),
        prefix=str(row[2]),
        role=str(row[3]),
        sensor_scope=scope_from(row[4]),
        created_by=str(row[5]),
        created_at=row[6],
        expires_at=row[7],
        revoked_at=row[8],
        last_used_at=row[9],
    )


def _is_duplicate(exc: BaseException) -> bool:
    args: tuple[object, ...] = getattr(exc, "args", ())
    return bool(args) and args[0] == _DUPLICATE_KEY


# -- users -------------------------------------------------------------------------------------


@translated("cannot read or write API users and tokens")
async def create_user(
    conn: CONNECTION,
    username: str,
    password_hash: str,
    role: str,
    sensor_scope: Sequence[int] | None = None,
) -> int | None:
    """Insert a user; its id, or None when the name is taken (names ignore case)."""
    now = utcnow()
    async with conn.cursor() as cur:
        try:
            await cur.execute(
                "INSERT INTO api_user (username, password_hash, role, sensor_scope, "
                "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (username, password_hash, role, scope_text(sensor_scope), now, now),
            )
        except Exception as exc:
            if _is_duplicate(exc):
                return None
            raise
        return int(cur.lastrowid)


@translated("cannot read or write API users and tokens")
async def user_by_name(conn: CONNECTION, username: str) -> User | None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM api_user WHERE username = %s", (username,))
        row = await cur.fetchone()
    return None if row is None else _user(row)


@translated("cannot read or write API users and tokens")
async def user_by_id(conn: CONNECTION, user_id: int) -> User | None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM api_user WHERE id = %s", (user_id,))
        row = await cur.fetchone()
    return None if row is None else _user(row)


@translated("cannot read or write API users and tokens")
async def session_user(conn: CONNECTION, user_id: int, jti: bytes) -> tuple[User | None, bool]:
    """The user of a login session and whether the session was revoked (logout), in one
    round trip: checked on every request, so that a disabled user is refused at once."""
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT {_USER_COLUMNS}, EXISTS(SELECT 1 FROM api_session_revoked WHERE jti = %s) "
            "FROM api_user WHERE id = %s",
            (jti, user_id),
        )
        row = await cur.fetchone()
    if row is None:
        return None, False
    return _user(row[:-1]), bool(row[-1])


@translated("cannot read or write API users and tokens")
async def list_users(conn: CONNECTION) -> list[User]:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM api_user ORDER BY username")
        return [_user(r) for r in await cur.fetchall()]


@translated("cannot read or write API users and tokens")
async def count_users(conn: CONNECTION) -> int:
    async with conn.cursor() as cur:
        await cur.execute("SELECT COUNT(*) FROM api_user")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@translated("cannot read or write API users and tokens")
async def update_user(
    conn: CONNECTION,
    user_id: int,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    sensor_scope: Sequence[int] | None = None,
    clear_scope: bool = False,
    password_hash: str | None = None,
) -> bool:
    """Change what is given; a new password, a role change or disabling ends the user's open
    sessions (``session_epoch`` moves on). False when there is no such user."""
    sets: list[str] = ["updated_at = %s"]
    params: list[Any] = [utcnow()]
    ends_sessions = False
    if role is not None:
        sets.append("role = %s")
        params.append(role)
        ends_sessions = True
    if disabled is not None:
        sets.append("disabled = %s")
        params.append(1 if disabled else 0)
        ends_sessions = ends_sessions or disabled
    if clear_scope:
        sets.append("sensor_scope = NULL")
    elif sensor_scope is not None:
        sets.append("sensor_scope = %s")
        params.append(scope_text(sensor_scope))
    if password_hash is not None:
        sets.append("password_hash = %s")
        params.append(password_hash)
        ends_sessions = True
    if ends_sessions:
        sets.append("session_epoch = session_epoch + 1")
    async with conn.cursor() as cur:
        await cur.execute(
            f"UPDATE api_user SET {', '.join(sets)} WHERE id = %s", (*params, user_id)
        )
        return int(cur.rowcount) == 1


@translated("cannot read or write API users and tokens")
async def touch_login(conn: CONNECTION, user_id: int) -> None:
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE api_user SET last_login_at = %s WHERE id = %s", (utcnow(), user_id)
        )


@translated("cannot read or write API users and tokens")
async def rehash_password(conn: CONNECTION, user_id: int, old_hash: str, new_hash: str) -> None:
    """Store a stronger hash of the same password (argon2 parameters raised); sessions stay."""
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE api_user SET password_hash = %s WHERE id = %s AND password_hash = %s",
            (new_hash, user_id, old_hash),
        )


# -- login sessions ----------------------------------------------------------------------------


@translated("cannot read or write API users and tokens")
async def revoke_session(conn: CONNECTION, jti: bytes, expires_at: dt.datetime) -> None:
    """End one login session now (logout); rows past their token's expiry are purged."""
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM api_session_revoked WHERE expires_at < %s", (utcnow(),))
        await cur.execute(
            "INSERT IGNORE INTO api_session_revoked (jti, expires_at) VALUES (%s, %s)",
            (jti, expires_at),
        )


# -- machine tokens ----------------------------------------------------------------------------


@translated("cannot read or write API users and tokens")
async def create_token(
    conn: CONNECTION,
    *,
    name: str,
    token_hash: bytes,
    prefix: str,
    role: str,
    sensor_scope: Sequence[int] | None,
    created_by: str,
    expires_at: dt.datetime | None,
) -> int:
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO api_token (name, token_hash, prefix, role, sensor_scope, created_by, "
            "created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                name,
                token_hash,
                prefix,
                role,
                scope_text(sensor_scope),
                created_by,
                utcnow(),
                expires_at,
            ),
        )
        return int(cur.lastrowid)


@translated("cannot read or write API users and tokens")
async def token_by_hash(conn: CONNECTION, token_hash: bytes) -> ApiToken | None:
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT {_TOKEN_COLUMNS} FROM api_token WHERE token_hash = %s", (token_hash,)
        )
        row = await cur.fetchone()
    return None if row is None else _token(row)


@translated("cannot read or write API users and tokens")
async def token_by_id(conn: CONNECTION, token_id: int) -> ApiToken | None:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_token WHERE id = %s", (token_id,))
        row = await cur.fetchone()
    return None if row is None else _token(row)


@translated("cannot read or write API users and tokens")
async def list_tokens(conn: CONNECTION) -> list[ApiToken]:
    async with conn.cursor() as cur:
        await cur.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_token ORDER BY id")
        return [_token(r) for r in await cur.fetchall()]


@translated("cannot read or write API users and tokens")
async def revoke_token(conn: CONNECTION, token_id: int) -> bool:
    """Revoke now; False when there is no such token or it was revoked already."""
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE api_token SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
            (utcnow(), token_id),
        )
        return int(cur.rowcount) == 1


@translated("cannot read or write API users and tokens")
async def touch_token(conn: CONNECTION, token_id: int, *, every_s: float = 60.0) -> None:
    """Record a use (at most one write per ``every_s``: tokens are used on every request)."""
    now = utcnow()
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE api_token SET last_used_at = %s WHERE id = %s "
            "AND (last_used_at IS NULL OR last_used_at < %s)",
            (now, token_id, now - dt.timedelta(seconds=every_s)),
        )
