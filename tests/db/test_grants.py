import os
from collections.abc import AsyncIterator

import pymysql
import pytest

from db.connect import CONNECTION, connect
from db.errors import ConfigError
from db.grants import SENSOR_PRIVILEGES, create_sensor_user, drop_sensor_user
from db.migrate import check_schema
from db.queries import (
    LookupCache,
    claim_sensor_id,
    replace_active_calls,
    sensor_row_counts,
    write_records,
)
from db.records import Record
from db.url import parse_db_url
from tests.db.factories import make_call, make_registration
from tests.db.mariadb import url_of


@pytest.fixture
async def sensor_user(db_url: str) -> AsyncIterator[str]:
    user = f"cs_sensor_{os.getpid()}"
    yield user
    admin = await connect(parse_db_url(db_url))
    try:
        assert await drop_sensor_user(admin, user)
        assert not await drop_sensor_user(admin, user)
    finally:
        admin.close()


async def test_sensor_user_can_write_but_not_delete_or_drop(
    db_url: str, sensor_user: str, sensor_id: int
) -> None:
    cfg = parse_db_url(db_url)
    admin = await connect(cfg)
    try:
        await create_sensor_user(admin, sensor_user, "pw-1", cfg.database)
        await create_sensor_user(admin, sensor_user, "pw-2", cfg.database)  # re-run: new password
    finally:
        admin.close()

    conn = await connect(parse_db_url(url_of(cfg.database, sensor_user, "pw-2")))
    try:
        await check_schema(conn)
        records: list[Record] = [make_call(1), make_registration(1)]
        await write_records(conn, sensor_id, records, LookupCache())
        await write_records(conn, sensor_id, records, LookupCache())
        await replace_active_calls(conn, sensor_id, [])
        await conn.commit()
        claimed = await claim_sensor_id(conn, f"grant-test-{os.getpid()}", name="least-priv")
        assert claimed == await claim_sensor_id(conn, f"grant-test-{os.getpid()}", name="x")
        assert (await sensor_row_counts(conn, sensor_id))["cdr"] == 1
        async with conn.cursor() as cur:
            for statement in ("DELETE FROM cdr", "DROP TABLE cdr_dtmf", "TRUNCATE sensors"):
                with pytest.raises(pymysql.err.OperationalError) as info:
                    await cur.execute(statement)
                assert info.value.args[0] == 1142  # command denied
            await cur.execute("SHOW GRANTS")
            grants = " ".join(r[0] for r in await cur.fetchall())
        for table in SENSOR_PRIVILEGES:
            assert f"`{cfg.database}`.`{table}`" in grants
    finally:
        conn.close()


async def _show_grants(conn: CONNECTION, user: str, host: str = "%") -> list[str]:
    async with conn.cursor() as cur:
        await cur.execute("SHOW GRANTS FOR %s@%s", (user, host))
        return [str(r[0]) for r in await cur.fetchall()]


async def test_an_existing_account_is_left_with_exactly_the_sensor_grants(
    db_url: str, sensor_user: str
) -> None:
    cfg = parse_db_url(db_url)
    role = f"{sensor_user}_role"
    admin = await connect(cfg)
    try:
        async with admin.cursor() as cur:
            await cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'old'", (sensor_user,))
            await cur.execute(f"CREATE ROLE `{role}`")
            await cur.execute(f"GRANT SELECT ON mysql.* TO `{role}`")
            for stmt in (
                "GRANT ALL ON *.* TO %s@'%%'",
                "GRANT FILE ON *.* TO %s@'%%' WITH GRANT OPTION",
                f"GRANT DELETE, DROP ON `{cfg.database}`.* TO %s@'%%'",
                f"GRANT DELETE ON `{cfg.database}`.`cdr` TO %s@'%%'",
                "GRANT SELECT (User) ON mysql.user TO %s@'%%'",
                f"GRANT `{role}` TO %s@'%%'",
                f"SET DEFAULT ROLE `{role}` FOR %s@'%%'",
            ):
                await cur.execute(stmt, (sensor_user,))
        done = await create_sensor_user(admin, sensor_user, "pw-new", cfg.database)
        grants = await _show_grants(admin, sensor_user)
        async with admin.cursor() as cur:
            await cur.execute(f"DROP ROLE `{role}`")
    finally:
        admin.close()
    assert not done.created
    revoked = " | ".join(done.revoked)
    for what in ("ALL PRIVILEGES ON *.*", "WITH GRANT OPTION", "DELETE, DROP ON", "`mysql`.`user`",
                 f"GRANT `{role}` TO", "SET DEFAULT ROLE"):  # fmt: skip
        assert what in revoked, revoked
    expected = {
        f"GRANT {', '.join(privs)} ON `{cfg.database}`.`{table}` TO `{sensor_user}`@`%`"
        for table, privs in SENSOR_PRIVILEGES.items()
    }
    usage = [g for g in grants if g.startswith("GRANT USAGE ON *.*")]
    assert len(usage) == 1 and "GRANT OPTION" not in usage[0]
    assert set(grants) - set(usage) == expected
    # and it behaves like that: the new password, no FILE, no reading mysql.*, no DELETE
    conn = await connect(parse_db_url(url_of(cfg.database, sensor_user, "pw-new")))
    try:
        async with conn.cursor() as cur:
            for statement in ("SELECT COUNT(*) FROM mysql.user", "DELETE FROM cdr"):
                with pytest.raises(pymysql.err.OperationalError) as info:
                    await cur.execute(statement)
                assert info.value.args[0] == 1142, info.value
            await cur.execute("SELECT LOAD_FILE('/etc/hostname')")
            assert await cur.fetchone() == (None,)  # no FILE privilege
    finally:
        conn.close()


async def test_the_account_running_the_command_is_refused(db_url: str, sensor_user: str) -> None:
    cfg = parse_db_url(db_url)
    admin = await connect(cfg)
    try:
        async with admin.cursor() as cur:
            await cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'adm'", (sensor_user,))
            await cur.execute("GRANT ALL ON *.* TO %s@'%%' WITH GRANT OPTION", (sensor_user,))
    finally:
        admin.close()
    as_it = await connect(parse_db_url(url_of(cfg.database, sensor_user, "adm")))
    try:
        with pytest.raises(ConfigError) as info:
            await create_sensor_user(as_it, sensor_user, "x", cfg.database)
        assert str(info.value) == (
            f"{sensor_user!r}@'%' is the account running this command: a sensor account holds "
            "only the sensor grants, give the sensor its own user"
        )
        grants = await _show_grants(as_it, sensor_user)
    finally:
        as_it.close()
    assert any("ALL PRIVILEGES ON *.*" in g for g in grants)  # untouched
