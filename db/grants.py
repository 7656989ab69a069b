"""The least-privilege MySQL user a sensor connects as: it can add and update its data, read
it back, and nothing else (no DELETE except its live snapshot, no DDL, no DROP)."""

from db.connect import CONNECTION
from db.driver import driver_errors
from db.errors import ConfigError
from db.url import DB_NAME

READ_WRITE = ("SELECT", "INSERT", "UPDATE")

SENSOR_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "cdr": READ_WRITE,
    "cdr_rtp": READ_WRITE,
    "cdr_dtmf": READ_WRITE,
    "rtp_orphan": READ_WRITE,
    "sip_reason": READ_WRITE,
    "user_agent": READ_WRITE,
    "registration_state": READ_WRITE,
    "registration_history": READ_WRITE,
    "registration_failure": READ_WRITE,
    "sip_message": READ_WRITE,
    "sensors": READ_WRITE,
    "active_calls": (*READ_WRITE, "DELETE"),
    "schema_version": ("SELECT",),
}
"""Table -> privileges granted to a sensor user. ``active_calls`` is replaced wholesale."""


def grant_statements(database: str) -> list[str]:
    """``GRANT`` statements with ``%s@%s`` placeholders for user and host."""
    if not DB_NAME.fullmatch(database):
        raise ValueError(f"invalid database name {database!r}")
    return [
        f"GRANT {', '.join(privs)} ON `{database}`.`{table}` TO %s@%s"
        for table, privs in SENSOR_PRIVILEGES.items()
    ]


async def create_sensor_user(
    conn: CONNECTION, user: str, password: str, database: str, *, host: str = "%"
) -> None:
    """Create (or re-password) ``user@host`` with exactly :data:`SENSOR_PRIVILEGES` on
    ``database``. ``conn`` must belong to an admin with the GRANT OPTION; commits nothing
    (account statements are not transactional)."""
    if not user:
        raise ConfigError("sensor user name is empty")
    with driver_errors("cannot create the sensor user"):
        await _create(conn, user, password, database, host)


async def _create(conn: CONNECTION, user: str, password: str, database: str, host: str) -> None:
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s", (user, host)
        )
        row = await cur.fetchone()
        verb = "ALTER" if row and row[0] else "CREATE"
        await cur.execute(f"{verb} USER %s@%s IDENTIFIED BY %s", (user, host, password))
        for stmt in grant_statements(database):
            await cur.execute(stmt, (user, host))


async def drop_sensor_user(conn: CONNECTION, user: str, *, host: str = "%") -> bool:
    """Remove ``user@host`` if it exists; True when it did."""
    with driver_errors("cannot drop the sensor user"):
        return await _drop(conn, user, host)


async def _drop(conn: CONNECTION, user: str, host: str) -> bool:
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s", (user, host)
        )
        row = await cur.fetchone()
        if not row or not row[0]:
            return False
        await cur.execute("DROP USER %s@%s", (user, host))
    return True
