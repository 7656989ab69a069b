"""``callsift db migrate`` and ``callsift db maintain`` as an operator runs them."""

from __future__ import annotations

import asyncio

import pytest

from db.connect import connect
from db.grants import drop_sensor_user
from db.migrate import load_migrations
from db.url import parse_db_url
from tests.db.mariadb import ensure_server, url_of
from tests.sniffer.cli.test_analyze import callsift


@pytest.mark.slow
def test_migrate_is_idempotent_and_maintain_runs(fresh_db: str) -> None:
    url = url_of(fresh_db)
    first = callsift("db", "migrate", "--db", url)
    names = [f"{m.version:04d}_{m.name}" for m in load_migrations()]
    said = f"applied migration{'s' if len(names) > 1 else ''} {', '.join(names)}"
    assert said.startswith("applied migration 0001_initial") or len(names) > 1
    assert (first.returncode, first.stdout.strip()) == (0, said), first.stderr
    again = callsift("db", "migrate", "--db", url)
    assert (again.returncode, again.stdout.strip()) == (0, "schema is up to date")
    m = callsift("db", "maintain", "--db", url, "--retention-days", "30", "--days-ahead", "10")
    assert m.returncode == 0, m.stderr
    assert "cdr: created 3 partitions" in m.stdout  # 7 days ahead exist after migrate


@pytest.mark.slow
def test_database_from_the_environment(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_DB_URL", url_of(fresh_db))
    r = callsift("db", "migrate")
    assert r.returncode == 0, r.stderr


@pytest.mark.slow  # a callsift process
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:wrong@127.0.0.1:3306/x", "callsift: cannot connect to MySQL at 127.0.0.1:3306 as root: Access denied"),
        ("mysql://root@127.0.0.1:1/x", "callsift: cannot connect to MySQL at 127.0.0.1:1 as root: connection refused"),
        ("mysql://root@127.0.0.1:3306/", "callsift: storage.db_url (CALLSIFT_DB_URL): database URL has no database name"),
    ],
)  # fmt: skip
def test_errors_are_one_line(url: str, message: str) -> None:
    ensure_server()
    r = callsift("db", "migrate", "--db", url)
    assert r.returncode == 1
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_grant_sensor_creates_a_user_that_can_only_write(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = url_of(fresh_db)
    assert callsift("db", "migrate", "--db", url).returncode == 0
    user = f"s_{fresh_db[-12:]}"
    r = callsift("db", "grant-sensor", "--db", url, "--user", user)
    assert (r.returncode, r.stderr.strip()) == (
        1,
        "callsift: set CALLSIFT_SENSOR_PASSWORD to the sensor user's password",
    )
    monkeypatch.setenv("CALLSIFT_SENSOR_PASSWORD", "s3cret")
    r = callsift("db", "grant-sensor", "--db", url, "--user", user, "--host", "127.0.0.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(
        f"sensor user {user!r}@'127.0.0.1' created: it can now write to {fresh_db}, "
        "with the sensor grants only (docs/SCHEMA.md)"
    )
    asyncio.run(_grant_more(user, fresh_db))
    again = callsift("db", "grant-sensor", "--db", url, "--user", user, "--host", "127.0.0.1")
    assert again.returncode == 0, again.stderr
    lines = again.stdout.strip().splitlines()
    assert lines[0] == f"revoked: GRANT FILE ON *.* TO `{user}`@`127.0.0.1`"
    assert lines[1].startswith(f"revoked: GRANT ALL PRIVILEGES ON `{fresh_db}`.* TO")
    assert f"{user!r}@'127.0.0.1' updated" in lines[2] and len(lines) == 3
    sensor_url = url_of(fresh_db, user=user, password="s3cret")
    # the sensor user writes CDRs but cannot change the schema
    analyzed = callsift(
        "analyze", "--json", "--db", sensor_url, "--journal", f"/tmp/{user}-journal",
        "tests/data/golden/sip_tcp_call_rtp_rtcp.pcap",
    )  # fmt: skip
    assert analyzed.returncode == 0, analyzed.stderr
    denied = callsift("db", "maintain", "--db", sensor_url, "--days-ahead", "30")
    assert denied.returncode == 1 and "command denied" in denied.stderr
    asyncio.run(drop_sensor_user_sql(user))


async def _grant_more(user: str, database: str) -> None:
    """What an admin might have given the account by hand."""
    conn = await connect(parse_db_url(url_of("mysql")))
    try:
        async with conn.cursor() as cur:
            await cur.execute("GRANT FILE ON *.* TO %s@'127.0.0.1'", (user,))
            await cur.execute(f"GRANT ALL ON `{database}`.* TO %s@'127.0.0.1'", (user,))
    finally:
        conn.close()


async def drop_sensor_user_sql(user: str) -> None:
    conn = await connect(parse_db_url(url_of("mysql")))
    try:
        await drop_sensor_user(conn, user, host="127.0.0.1")
    finally:
        conn.close()
