import pytest

from db.connect import connect
from db.errors import DbError, SchemaError
from db.migrate import (
    check_schema,
    latest_version,
    load_migrations,
    migrate,
    schema_version,
    split_statements,
)
from db.retention import PARTITIONED_TABLES, list_partitions
from db.url import parse_db_url
from tests.db.mariadb import create_empty_database, url_of

EXPECTED_TABLES = {
    "schema_version",
    "sensors",
    "sip_reason",
    "user_agent",
    "cdr",
    "cdr_rtp",
    "cdr_dtmf",
    "cdr_problem",
    "cdr_leg_key",
    "cdr_leg_link",
    "rtp_orphan",
    "registration_state",
    "registration_history",
    "registration_failure",
    "sip_message",
    "active_calls",
    "api_user",
    "api_token",
    "api_session_revoked",
    "audit_log",
    "share_link",
    "ip_alias",
    "cdr_stats_hour",
    "cdr_stats_failing",
    "api_state",
}


def test_migrations_are_numbered_from_one() -> None:
    """Increasing from 1; numbers are reserved per feature (docs/SCHEMA.md), so a branch may
    carry 0006 before 0002..0005 land: gaps are allowed, duplicates are not."""
    versions = [m.version for m in load_migrations()]
    assert versions[0] == 1
    assert versions == sorted(set(versions))
    assert latest_version() == versions[-1]


def test_split_statements() -> None:
    sql = "-- comment; not a statement\nCREATE TABLE a (\n  x INT -- inline\n);\n\nSELECT 1;\nSELECT 2"
    assert split_statements(sql) == [
        "CREATE TABLE a (\n  x INT -- inline\n)",
        "SELECT 1",
        "SELECT 2",
    ]


@pytest.mark.slow
async def test_migrate_creates_database_and_is_idempotent(fresh_db: str) -> None:
    url = url_of(fresh_db)
    assert await migrate(url, days_ahead=2) == [m.version for m in load_migrations()]
    assert await migrate(url, days_ahead=2) == []
    conn = await connect(parse_db_url(url))
    try:
        assert await schema_version(conn) == latest_version()
        assert await check_schema(conn) == latest_version()
        async with conn.cursor() as cur:
            await cur.execute("SHOW TABLES")
            tables = {r[0] for r in await cur.fetchall()}
            await cur.execute("SELECT version, name, CHAR_LENGTH(checksum) FROM schema_version")
            rows = await cur.fetchall()
            await cur.execute(
                "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = DATABASE()"
            )
            charset = (await cur.fetchone())[0]
        assert tables == EXPECTED_TABLES
        assert [(v, n, c) for v, n, c in rows] == [
            (m.version, m.name, 64) for m in load_migrations()
        ]
        assert charset == "utf8mb4"
        for table in PARTITIONED_TABLES:
            parts = await list_partitions(conn, table)
            assert len(parts) == 3 + 1  # today + 2 days ahead + p_future
            assert parts[-1] == "p_future"
    finally:
        conn.close()


async def test_check_schema_on_empty_database(fresh_db: str) -> None:
    await create_empty_database(fresh_db)
    conn = await connect(parse_db_url(url_of(fresh_db)))
    try:
        assert await schema_version(conn) == 0
        with pytest.raises(SchemaError) as info:
            await check_schema(conn)
        assert str(info.value) == (
            f"database schema is at version 0, this callsift needs {latest_version()}: "
            "run `callsift db migrate`"
        )
    finally:
        conn.close()


async def test_wrong_password_is_one_clear_line() -> None:
    with pytest.raises(DbError) as info:
        await migrate(url_of("whatever", password="definitely-wrong"))
    msg = str(info.value)
    assert msg.startswith(
        "cannot connect to MySQL at 127.0.0.1:3306 as root: Access denied for user 'root'@"
    )
    assert msg.endswith("(using password: YES) (MySQL error 1045)")
    assert "\n" not in msg


async def test_unreachable_server() -> None:
    with pytest.raises(DbError) as info:
        await connect(parse_db_url("mysql://root@127.0.0.1:1/db"))
    assert str(info.value) == "cannot connect to MySQL at 127.0.0.1:1 as root: connection refused"


async def test_unknown_database() -> None:
    with pytest.raises(DbError) as info:
        await connect(parse_db_url(url_of("callsift_no_such_db")))
    assert str(info.value) == (
        "cannot connect to MySQL at 127.0.0.1:3306 as root: "
        "Unknown database 'callsift_no_such_db' (MySQL error 1049)"
    )
