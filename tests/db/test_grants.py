import os
from collections.abc import AsyncIterator

import pymysql
import pytest

from db.connect import connect
from db.grants import SENSOR_PRIVILEGES, create_sensor_user, drop_sensor_user
from db.migrate import check_schema
from db.queries import LookupCache, replace_active_calls, sensor_row_counts, write_records
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
