"""``callsift db ...``: schema migrations and partition maintenance."""

from __future__ import annotations

import argparse
import asyncio
import sys

from db.errors import DbError
from db.url import db_url_from, parse_db_url

DB_HELP = "mysql://USER:PASSWORD@HOST:PORT/DATABASE (default: env CALLSIFT_DB_URL)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database schema and maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    m = dbsub.add_parser(
        "migrate",
        help="create or upgrade the schema (idempotent)",
        description="Create the database if missing and apply pending migrations.",
    )
    m.add_argument("--db", metavar="URL", help=DB_HELP)
    m.set_defaults(run=run_migrate)
    t = dbsub.add_parser(
        "maintain",
        help="create future daily partitions, drop those past the retention",
        description="Partition maintenance; needs ALTER rights (the admin URL). Run daily.",
    )
    t.add_argument("--db", metavar="URL", help=DB_HELP)
    t.add_argument(
        "--retention-days",
        type=_days,
        default=90,
        metavar="N",
        help="drop CDR partitions older than N days (0: keep everything; default 90)",
    )
    t.add_argument("--days-ahead", type=_days, default=7, metavar="N", help="default 7")
    t.set_defaults(run=run_maintain)
    g = dbsub.add_parser(
        "grant-sensor",
        help="create (or re-password) a least-privilege sensor user",
        description="Creates USER with only what a sensor needs on the database (docs/SCHEMA.md). "
        "The password comes from the environment variable CALLSIFT_SENSOR_PASSWORD, never "
        "from the command line. Needs an admin URL with the GRANT OPTION.",
    )
    g.add_argument("--db", metavar="URL", help=DB_HELP)
    g.add_argument("--user", required=True, help="the sensor's MySQL user name")
    g.add_argument("--host", default="%", help="the host the sensor connects from (default %%)")
    g.set_defaults(run=run_grant_sensor)


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return int(text)


def _url(args: argparse.Namespace) -> str | None:
    try:
        url = db_url_from(args.db)
        parse_db_url(url)
    except ValueError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return None
    return url


def run_migrate(args: argparse.Namespace) -> int:
    from db.migrate import migrate  # the driver loads only when a db command runs

    url = _url(args)
    if url is None:
        return 1
    try:
        applied = asyncio.run(migrate(url))
    except DbError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"applied migrations {', '.join(str(v) for v in applied)}")
    else:
        print("schema is up to date")
    return 0


def run_maintain(args: argparse.Namespace) -> int:
    from db.maintain import maintain

    url = _url(args)
    if url is None:
        return 1
    try:
        res = asyncio.run(
            maintain(url, retention_days=args.retention_days, days_ahead=args.days_ahead)
        )
    except DbError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    for table, parts in sorted(res.created.items()):
        print(f"{table}: created {len(parts)} partitions")
    for table, parts in sorted(res.dropped.items()):
        print(f"{table}: dropped {len(parts)} partitions ({parts[0]}..{parts[-1]})")
    return 0


def run_grant_sensor(args: argparse.Namespace) -> int:
    import os

    from db.connect import connect
    from db.grants import create_sensor_user

    url = _url(args)
    if url is None:
        return 1
    password = os.environ.get("CALLSIFT_SENSOR_PASSWORD", "")
    if not password:
        print(
            "callsift: set CALLSIFT_SENSOR_PASSWORD to the sensor user's password", file=sys.stderr
        )
        return 1

    async def go() -> None:
        cfg = parse_db_url(url)
        conn = await connect(cfg)
        try:
            await create_sensor_user(conn, args.user, password, cfg.database, host=args.host)
        finally:
            conn.close()

    try:
        asyncio.run(go())
    except (DbError, ValueError) as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a driver error: translated into one line
        from db.connect import DRIVER_ERRORS, translate

        if not isinstance(exc, DRIVER_ERRORS):
            raise
        print(f"callsift: {translate(exc, 'cannot create the sensor user')}", file=sys.stderr)
        return 1
    print(f"sensor user {args.user!r}@{args.host!r} can now write to {parse_db_url(url).database}")
    return 0
