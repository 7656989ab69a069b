"""``callsift db ...``: schema migrations, partition maintenance, the sensor user.

Settings come from the tree (db/settings.py): ``--db`` > ``CALLSIFT_DB_URL`` > ``--config``.
Errors are raised (:class:`~db.errors.CallsiftError`); the ``callsift`` entry point prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from db.errors import ConfigError
from db.settings import Settings, flag_help, load_settings
from db.url import URL_FORM, db_url_arg, parse_db_url

PASSWORD_ENV = "CALLSIFT_SENSOR_PASSWORD"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], *, epilog: str) -> None:
    p = sub.add_parser("db", help="database schema and maintenance", epilog=epilog)
    p.set_defaults(cmd_parser=p)
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    m = dbsub.add_parser(
        "migrate",
        help="create or upgrade the schema (idempotent)",
        description="Create the database if missing, apply pending migrations, create the "
        "daily partitions ahead.",
        epilog=epilog,
    )
    _common(m)
    m.add_argument(
        "--days-ahead", type=_days, metavar="N",
        help=flag_help("storage.partitions_ahead_days", "daily partitions created ahead"),
    )  # fmt: skip
    m.set_defaults(run=run_migrate, cmd_parser=m)
    t = dbsub.add_parser(
        "maintain",
        help="create future daily partitions, drop those past the retention",
        description="Partition maintenance; needs ALTER rights (the admin URL). Run daily.",
        epilog=epilog,
    )
    _common(t)
    t.add_argument(
        "--retention-days", type=_days, metavar="N",
        help=flag_help("storage.retention_days", "drop CDR partitions older than N days, "
                       "0: keep everything"),
    )  # fmt: skip
    t.add_argument(
        "--days-ahead", type=_days, metavar="N",
        help=flag_help("storage.partitions_ahead_days", "daily partitions created ahead"),
    )  # fmt: skip
    t.set_defaults(run=run_maintain, cmd_parser=t)
    g = dbsub.add_parser(
        "grant-sensor",
        help="create (or re-password) a least-privilege sensor user",
        description="Creates USER with only what a sensor needs on the database (docs/SCHEMA.md); "
        "an existing USER is left with exactly those grants (any other privilege, role or grant "
        "option it had is revoked and listed). "
        f"The password comes from the environment variable {PASSWORD_ENV}, never "
        "from the command line. Needs an admin URL with the GRANT OPTION.",
        epilog=epilog,
    )
    _common(g)
    g.add_argument("--user", required=True, help="the sensor's MySQL user name")
    g.add_argument("--host", default="%", help="the host the sensor connects from (default %%)")
    g.add_argument(
        "--require-tls", action="store_true",
        help="refuse this user's unencrypted connections (remote sensors)",
    )  # fmt: skip
    g.set_defaults(run=run_grant_sensor, cmd_parser=g)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", type=db_url_arg, metavar="URL", help=flag_help("storage.db_url", URL_FORM)
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}")
    return int(text)


def _settings(args: argparse.Namespace, **flags: Any) -> tuple[Settings, str]:
    """The settings with the flags on top, and the database URL (required)."""
    settings = load_settings(args.config, {"storage.db_url": args.db, **flags})
    return settings, settings.storage.require_db_url()


def run_migrate(args: argparse.Namespace) -> int:
    from db.migrate import load_migrations, migrate  # the driver loads only when it runs

    settings, url = _settings(args, **{"storage.partitions_ahead_days": args.days_ahead})
    applied = asyncio.run(migrate(url, days_ahead=settings.storage.partitions_ahead_days))
    if applied:
        names = {m.version: f"{m.version:04d}_{m.name}" for m in load_migrations()}
        word = "migration" if len(applied) == 1 else "migrations"
        print(f"applied {word} {', '.join(names[v] for v in applied)}")
    else:
        print("schema is up to date")
    return 0


def run_maintain(args: argparse.Namespace) -> int:
    from db.maintain import maintain

    settings, url = _settings(
        args,
        **{
            "storage.retention_days": args.retention_days,
            "storage.partitions_ahead_days": args.days_ahead,
        },
    )
    res = asyncio.run(
        maintain(
            url,
            retention_days=settings.storage.retention_days,
            days_ahead=settings.storage.partitions_ahead_days,
        )
    )
    for table, parts in sorted(res.created.items()):
        print(f"{table}: created {len(parts)} partitions")
    for table, parts in sorted(res.dropped.items()):
        print(f"{table}: dropped {len(parts)} partitions ({parts[0]}..{parts[-1]})")
    return 0


def run_grant_sensor(args: argparse.Namespace) -> int:
    from db.connect import connect
    from db.grants import SensorUser, create_sensor_user

    _, url = _settings(args)
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise ConfigError(f"set {PASSWORD_ENV} to the sensor user's password")
    cfg = parse_db_url(url)

    async def go() -> SensorUser:
        conn = await connect(cfg)
        try:
            return await create_sensor_user(
                conn, args.user, password, cfg.database, host=args.host,
                require_tls=args.require_tls,
            )  # fmt: skip
        finally:
            conn.close()

    done = asyncio.run(go())
    for grant in done.revoked:
        print(f"revoked: {grant}")
    verb = "created" if done.created else "updated"
    print(
        f"sensor user {args.user!r}@{args.host!r} {verb}: it can now write to "
        f"{cfg.database}, with the sensor grants only (docs/SCHEMA.md)"
    )
    return 0
