"""Versioned schema migrations: ``db/migrations/NNNN_name.sql`` applied in order, recorded in
``schema_version``. Safe to run again and from several hosts at once (a named lock serialises)."""

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from db.connect import CONNECTION, connect
from db.driver import driver_errors
from db.errors import DbUnavailable, SchemaError
from db.retention import DEFAULT_DAYS_AHEAD, ensure_partitions
from db.url import DbConfig, parse_db_url

log = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
LOCK_TIMEOUT_S = 60

_CREATE_VERSION_TABLE = """
CREATE TABLE schema_version (
    version INT UNSIGNED NOT NULL,
    name VARCHAR(255) NOT NULL,
    checksum CHAR(64) CHARACTER SET ascii NOT NULL,
    applied_at DATETIME(6) NOT NULL,
    PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        return split_statements(self.sql)


@cache
def load_migrations() -> tuple[Migration, ...]:
    """Every migration shipped in the package, by version."""
    found: list[Migration] = []
    for entry in resources.files("db").joinpath("migrations").iterdir():
        m = _FILE_NAME.fullmatch(entry.name)
        if m is None:
            continue
        found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise SchemaError(f"duplicate migration versions in db/migrations: {versions}")
    return tuple(found)


def latest_version() -> int:
    """The schema version this code writes (highest shipped migration)."""
    migrations = load_migrations()
    return migrations[-1].version if migrations else 0


def split_statements(sql: str) -> list[str]:
    """Split a migration file into statements: ``--`` comment lines dropped, a statement ends
    with ``;`` at the end of a line."""
    out: list[str] = []
    cur: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        if stripped.endswith(";"):
            cur.append(line.rstrip()[:-1])
            out.append("\n".join(cur).strip())
            cur = []
        else:
            cur.append(line)
    tail = "\n".join(cur).strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


async def schema_version(conn: CONNECTION) -> int:
    """Highest applied version in the connection's database; 0 when none (or no table)."""
    if not await _has_version_table(conn):
        return 0
    async with conn.cursor() as cur:
        await cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _has_version_table(conn: CONNECTION) -> bool:
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_version'"
        )
        row = await cur.fetchone()
    return bool(row and row[0])


async def check_schema(conn: CONNECTION) -> int:
    """The database's schema version; :class:`SchemaError` when older than this code needs."""
    with driver_errors("cannot read the schema version"):
        have = await schema_version(conn)
    need = latest_version()
    if have < need:
        raise SchemaError(
            f"database schema is at version {have}, this callsift needs {need}: "
            "run `callsift db migrate`"
        )
    return have


async def connect_checked(cfg: DbConfig, *, timeout_s: float) -> CONNECTION:
    """A connection to a database whose schema this callsift can write, within ``timeout_s``:
    :class:`~db.errors.DbUnavailable`, :class:`~db.errors.DbRejected` or
    :class:`SchemaError` otherwise."""
    with driver_errors(f"cannot check the schema of {cfg.database}", timeout_s=timeout_s):
        async with asyncio.timeout(timeout_s):
            conn = await connect(cfg, timeout_s=timeout_s)
            try:
                await check_schema(conn)
            except BaseException:
                conn.close()
                raise
    return conn


async def migrate(url: str, *, days_ahead: int = DEFAULT_DAYS_AHEAD) -> list[int]:
    """Create the database if missing, apply pending migrations in order, make sure the daily
    partitions for the next ``days_ahead`` days exist. Returns the versions applied now."""
    cfg = parse_db_url(url)
    await create_database(url)
    conn = await connect(cfg)
    try:
        with driver_errors(f"migration of {cfg.database} failed"):
            return await _migrate_locked(conn, cfg, days_ahead)
    finally:
        conn.close()


async def _database_exists(cur: Any, name: str) -> bool:
    await cur.execute(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def _server_ddl(url: str, want_exists: bool, ddl: str, failure: str) -> bool:
    """Run ``ddl`` (naming the URL's database as ``{db}``) when the database's existence is
    ``want_exists``; True when it ran. The name is validated by parse_db_url (identifier
    characters only), so it can be quoted into the statement."""
    cfg = parse_db_url(url)
    conn = await connect(cfg, with_database=False)
    try:
        with driver_errors(f"{failure} {cfg.database}"):
            async with conn.cursor() as cur:
                if await _database_exists(cur, cfg.database) != want_exists:
                    return False
                await cur.execute(ddl.format(db=f"`{cfg.database}`"))
                return True
    finally:
        conn.close()


async def create_database(url: str) -> bool:
    """Create the URL's database (utf8mb4) unless it exists; True when created."""
    created = await _server_ddl(
        url,
        False,
        "CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "cannot create database",
    )
    if created:
        log.info("created database %s", parse_db_url(url).database)
    return created


async def drop_database(url: str) -> bool:
    """Drop the URL's database with all its data (tests, benchmarks); True when it existed."""
    return await _server_ddl(url, True, "DROP DATABASE {db}", "cannot drop database")


async def _migrate_locked(conn: CONNECTION, cfg: DbConfig, days_ahead: int) -> list[int]:
    lock = f"callsift_migrate_{cfg.database}"
    async with conn.cursor() as cur:
        await cur.execute("SELECT GET_LOCK(%s, %s)", (lock, LOCK_TIMEOUT_S))
        row = await cur.fetchone()
        if not row or row[0] != 1:
            raise DbUnavailable(f"another migration of {cfg.database} holds the lock {lock!r}")
        try:
            applied = await _apply_pending(conn)
            await ensure_partitions(conn, days_ahead=days_ahead)
        finally:
            await cur.execute("SELECT RELEASE_LOCK(%s)", (lock,))
    return applied


async def _apply_pending(conn: CONNECTION) -> list[int]:
    applied: list[int] = []
    has_table = await _has_version_table(conn)
    async with conn.cursor() as cur:
        if not has_table:
            await cur.execute(_CREATE_VERSION_TABLE)
        await cur.execute("SELECT version, checksum FROM schema_version")
        done = {int(v): str(c) for v, c in await cur.fetchall()}
        for mig in load_migrations():
            if mig.version in done:
                if done[mig.version] != mig.checksum:
                    log.warning("migration %04d_%s changed after it was applied", *_id(mig))
                continue
            log.info("applying migration %04d_%s", *_id(mig))
            for stmt in mig.statements():
                await cur.execute(stmt)
            await cur.execute(
                "INSERT INTO schema_version (version, name, checksum, applied_at) "
                "VALUES (%s, %s, %s, UTC_TIMESTAMP(6))",
                (mig.version, mig.name, mig.checksum),
            )
            await conn.commit()
            applied.append(mig.version)
        unknown = sorted(set(done) - {m.version for m in load_migrations()})
        if unknown:
            log.warning("database has migrations this callsift does not know: %s", unknown)
    return applied


def _id(mig: Migration) -> tuple[int, str]:
    return mig.version, mig.name
