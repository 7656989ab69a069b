"""``callsift api`` (serve the REST API), ``callsift users ...`` and ``callsift tokens ...``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from db.url import URL_FORM, parse_db_url

DB_HELP = f"{URL_FORM} (default: env CALLSIFT_DB_URL)"
ROLES = ("viewer", "operator", "admin")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _add_api(sub)
    _add_users(sub)
    _add_tokens(sub)


def _add_api(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "api",
        help="serve the REST API",
        description="Serve the REST API (docs/API.md). The key signing access tokens comes "
        "from CALLSIFT_SECRET_KEY (at least 32 characters): there is no default.",
    )
    _common(p)
    p.add_argument("--host", help="address to listen on (api.host, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (api.port, default 8080)")
    p.add_argument(
        "--spool", metavar="DIR", help="the per-call pcap spool: pcaps, audio, imports (spool.dir)"
    )
    p.set_defaults(run=run_api, cmd_parser=p)


def _add_users(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "users", help="manage API users", description="Users of the REST API and GUI."
    )
    us = p.add_subparsers(dest="users_command", required=True, metavar="USERS_COMMAND")
    c = us.add_parser("create", help="create a user (password read from standard input)")
    c.add_argument("name")
    c.add_argument("--role", choices=ROLES, required=True)
    c.add_argument("--sensors", metavar="ID,ID", help="only these sensors (default: all)")
    c.set_defaults(run=lambda a: _db_command(a, _users_create))
    ls = us.add_parser("list", help="list users")
    ls.set_defaults(run=lambda a: _db_command(a, _users_list))
    d = us.add_parser("disable", help="disable a user (ends the user's sessions at once)")
    d.add_argument("name")
    d.set_defaults(run=lambda a: _db_command(a, _users_disable))
    e = us.add_parser("enable", help="enable a disabled user")
    e.add_argument("name")
    e.set_defaults(run=lambda a: _db_command(a, _users_enable))
    r = us.add_parser("reset-password", help="set a new password (read from standard input)")
    r.add_argument("name")
    r.set_defaults(run=lambda a: _db_command(a, _users_reset))
    for q in (c, ls, d, e, r):
        _common(q)
        q.set_defaults(cmd_parser=q)


def _add_tokens(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tokens", help="manage API tokens for machines")
    ts = p.add_subparsers(dest="tokens_command", required=True, metavar="TOKENS_COMMAND")
    c = ts.add_parser("create", help="create a token (printed once)")
    c.add_argument("--name", required=True)
    c.add_argument("--role", choices=ROLES, required=True)
    c.add_argument("--expires-days", type=int, metavar="N", help="expire after N days")
    c.add_argument("--sensors", metavar="ID,ID", help="only these sensors (default: all)")
    c.set_defaults(run=lambda a: _db_command(a, _tokens_create))
    ls = ts.add_parser("list", help="list tokens (never their secrets)")
    ls.set_defaults(run=lambda a: _db_command(a, _tokens_list))
    r = ts.add_parser("revoke", help="revoke a token now")
    r.add_argument("id", type=int)
    r.set_defaults(run=lambda a: _db_command(a, _tokens_revoke))
    for q in (c, ls, r):
        _common(q)
        q.set_defaults(cmd_parser=q)


# -- helpers -------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    from db.url import db_url_arg

    p.add_argument("--db", type=db_url_arg, metavar="URL", help=DB_HELP)
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )


def _settings(args: argparse.Namespace, **flags: Any) -> tuple[Any, str]:
    from db.settings import load_settings

    settings = load_settings(args.config, {"storage.db_url": args.db, **flags})
    return settings, settings.storage.require_db_url()


def _fail(message: str) -> int:
    print(f"callsift: {message}", file=sys.stderr)
    return 1


def _scope(text: str | None) -> list[int] | None:
    if text is None:
        return None
    ids = [s.strip() for s in text.split(",") if s.strip()]
    if not ids or not all(i.isdigit() for i in ids):
        raise ValueError(f"--sensors must be sensor ids separated by commas, got {text!r}")
    return [int(i) for i in ids]


def read_password(prompt: str = "Password: ") -> str:
    """From a terminal: asked twice, not echoed. Otherwise the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _db_command(
    args: argparse.Namespace, fn: Callable[[Any, argparse.Namespace], Awaitable[int]]
) -> int:
    from db.connect import connect

    _, url = _settings(args)
    cfg = parse_db_url(url)

    async def go() -> int:
        conn = await connect(cfg)
        try:
            rc = await fn(conn, args)
            await conn.commit()
            return rc
        finally:
            conn.close()

    try:
        return asyncio.run(go())
    except ValueError as exc:
        return _fail(str(exc))


async def _audit(conn: Any, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    from db.queries.audit import add_audit

    actor = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
    await add_audit(
        conn, actor=f"cli:{actor}", actor_kind="cli", action=action, target=target, detail=detail
    )


# -- users ---------------------------------------------------------------------------------------


async def _users_create(conn: Any, args: argparse.Namespace) -> int:
    from api.auth.passwords import hash_password, weakness
    from api.schemas.auth import USERNAME
    from db.queries import apiauth

    if not USERNAME.fullmatch(args.name):
        return _fail(f"invalid user name {args.name!r}: letters, digits and . _ @ + - only")
    scope = _scope(args.sensors)
    password = read_password()
    problem = weakness(password, args.name)
    if problem:
        return _fail(f"{problem}; user not created")
    uid = await apiauth.create_user(conn, args.name, hash_password(password), args.role, scope)
    if uid is None:
        return _fail(f"user {args.name!r} exists already")
    await _audit(conn, "user_created", args.name, {"role": args.role, "sensor_scope": scope})
    print(f"user {args.name!r} created with role {args.role}")
    return 0


async def _users_list(conn: Any, args: argparse.Namespace) -> int:
    from db.queries import apiauth

    users = await apiauth.list_users(conn)
    print(f"{'ID':>4}  {'NAME':<24} {'ROLE':<9} {'STATE':<9} {'SENSORS':<12} LAST LOGIN")
    for u in users:
        scope = "all" if u.sensor_scope is None else ",".join(map(str, u.sensor_scope))
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        state = "disabled" if u.disabled else "active"
        print(f"{u.id:>4}  {u.username:<24} {u.role:<9} {state:<9} {scope:<12} {last}")
    return 0


async def _set_disabled(conn: Any, name: str, disabled: bool) -> int:
    from db.queries import apiauth

    user = await apiauth.user_by_name(conn, name)
    if user is None:
        return _fail(f"no user {name!r}")
    await apiauth.update_user(conn, user.id, disabled=disabled)
    await _audit(conn, "user_changed", user.username, {"disabled": disabled})
    print(f"user {user.username!r} {'disabled' if disabled else 'enabled'}")
    return 0


async def _users_disable(conn: Any, args: argparse.Namespace) -> int:
    return await _set_disabled(conn, args.name, True)


async def _users_enable(conn: Any, args: argparse.Namespace) -> int:
    return await _set_disabled(conn, args.name, False)


async def _users_reset(conn: Any, args: argparse.Namespace) -> int:
    from api.auth.passwords import hash_password, weakness
    from db.queries import apiauth

    user = await apiauth.user_by_name(conn, args.name)
    if user is None:
        return _fail(f"no user {args.name!r}")
    password = read_password("New password: ")
    problem = weakness(password, user.username)
    if problem:
        return _fail(f"{problem}; password not changed")
    await apiauth.update_user(conn, user.id, password_hash=hash_password(password))
    await _audit(conn, "user_changed", user.username, {"password": "reset"})
    print(f"password of {user.username!r} changed; its sessions are ended")
    return 0


# -- tokens --------------------------------------------------------------------------------------


async def _tokens_create(conn: Any, args: argparse.Namespace) -> int:
    from api.auth.tokens import digest, new_api_token
    from db.queries import apiauth

    if not 1 <= len(args.name) <= 64:
        return _fail("--name must have 1 to 64 characters")
    if args.expires_days is not None and not 1 <= args.expires_days <= 3650:
        return _fail("--expires-days must be 1..3650")
    scope = _scope(args.sensors)
    token, prefix = new_api_token()
    expires = (
        None
        if args.expires_days is None
        else apiauth.utcnow() + dt.timedelta(days=args.expires_days)
    )
    tid = await apiauth.create_token(
        conn,
        name=args.name,
        token_hash=digest(token),
        prefix=prefix,
        role=args.role,
        sensor_scope=scope,
        created_by="cli",
        expires_at=expires,
    )
    await _audit(conn, "token_created", args.name, {"id": tid, "role": args.role})
    print(token)
    print(
        f"token {tid} ({args.name}, {args.role}) created: it is shown only this once",
        file=sys.stderr,
    )
    return 0


async def _tokens_list(conn: Any, args: argparse.Namespace) -> int:
    from db.queries import apiauth

    print(f"{'ID':>4}  {'NAME':<24} {'PREFIX':<11} {'ROLE':<9} {'STATE':<8} EXPIRES")
    now = apiauth.utcnow()
    for t in await apiauth.list_tokens(conn):
        state = (
            "revoked"
            if t.revoked_at
            else "expired"
            if t.expires_at and t.expires_at <= now
            else "active"
        )
        exp = t.expires_at.strftime("%Y-%m-%d") if t.expires_at else "never"
        print(f"{t.id:>4}  {t.name:<24} {t.prefix:<11} {t.role:<9} {state:<8} {exp}")
    return 0


async def _tokens_revoke(conn: Any, args: argparse.Namespace) -> int:
    from db.queries import apiauth

    t = await apiauth.token_by_id(conn, args.id)
    if t is None or not await apiauth.revoke_token(conn, args.id):
        return _fail(f"no active token with id {args.id}")
    await _audit(conn, "token_revoked", t.name, {"id": args.id})
    print(f"token {args.id} ({t.name}) revoked")
    return 0


# -- serve ---------------------------------------------------------------------------------------


def run_api(args: argparse.Namespace) -> int:
    from api.serve import serve

    settings, url = _settings(
        args, **{"api.host": args.host, "api.port": args.port, "spool.dir": args.spool}
    )
    secret = settings.require("api.secret_key").get_secret_value()
    return serve(
        api_config(settings, url, secret, spool_given=args.spool is not None),
        settings.api.host,
        settings.api.port,
        settings.api.trusted_proxies,
    )


def api_config(settings: Any, url: str, secret: str, *, spool_given: bool = True) -> Any:
    """The service's :class:`~api.config.ApiConfig` from the settings tree."""
    from api.config import ApiConfig

    a = settings.api
    spool = Path(settings.spool.dir)
    return ApiConfig(
        db_url=url,
        secret_key=secret,
        spool_dir=spool if spool_given or spool.is_dir() else None,
        token_lifetime_s=a.token_lifetime_s,
        metrics_public=a.metrics_public,
        login_window_s=a.login_window_s,
        login_max_failures_user=a.login_max_failures_user,
        login_max_failures_ip=a.login_max_failures_ip,
        stale_after_s=a.stale_after_s,
        share_max_days=a.share_max_days,
        import_max_bytes=a.import_max_mb << 20,
        import_concurrency=a.import_concurrency,
        import_timeout_s=a.import_timeout_s,
        import_sensor_id=a.import_sensor_id,
    )
