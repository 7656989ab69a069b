"""The least-privilege MySQL user a sensor connects as: it can add and update its data, read
it back, and nothing else (no DELETE except its live snapshot, no DDL, no DROP). The account
is left with exactly these grants, whatever it had before."""

import re
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import driver_errors
from db.errors import ConfigError, DbRejected
from db.url import DB_NAME

READ_WRITE = ("SELECT", "INSERT", "UPDATE")

SENSOR_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "cdr": READ_WRITE,
    "cdr_rtp": READ_WRITE,
    "cdr_dtmf": READ_WRITE,
    "cdr_problem": READ_WRITE,
    "cdr_leg_key": READ_WRITE,
    "cdr_leg_link": READ_WRITE,
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


@dataclass(frozen=True, slots=True)
class SensorUser:
    """What :func:`create_sensor_user` did."""

    created: bool
    revoked: tuple[str, ...]
    """The account's former grants that are not sensor grants (as ``SHOW GRANTS`` says)."""


_ROLE_GRANT = re.compile(r"^GRANT (`[^`]+`(?:@`[^`]*`)?(?:, ?`[^`]+`(?:@`[^`]*`)?)*) TO ")
_TABLE_GRANT = re.compile(r"^GRANT (.+) ON `([^`]+)`\.`([^`]+)` TO ")
_PASSWORD = re.compile(r" IDENTIFIED .*?(?= WITH GRANT OPTION$|$)")
"""MariaDB shows the password hash on the USAGE line: never keep or print it."""


async def _grants(cur: Any, user: str, host: str) -> list[str]:
    await cur.execute("SHOW GRANTS FOR %s@%s", (user, host))
    return [_PASSWORD.sub("", str(row[0])) for row in await cur.fetchall()]


def _is_sensor_grant(line: str, database: str) -> bool:
    """A line of ``SHOW GRANTS`` that :data:`SENSOR_PRIVILEGES` allows (USAGE: no privilege)."""
    if line.startswith("GRANT USAGE ON *.* TO ") and "WITH GRANT OPTION" not in line:
        return True
    m = _TABLE_GRANT.match(line)
    if m is None or m.group(2) != database or "WITH GRANT OPTION" in line:
        return False
    privs = {p.strip() for p in m.group(1).split(",")}
    return privs == set(SENSOR_PRIVILEGES.get(m.group(3), ("-",)))


async def create_sensor_user(
    conn: CONNECTION,
    user: str,
    password: str,
    database: str,
    *,
    host: str = "%",
    require_tls: bool = False,
) -> SensorUser:
    """Create (or re-password) ``user@host`` and leave it exactly :data:`SENSOR_PRIVILEGES` on
    ``database``: an existing account loses every other privilege, role and grant option it
    had (listed in the result). Refuses the account running this command (:class:`ConfigError`),
    and an account that still holds anything else afterwards (:class:`DbRejected`). With
    ``require_tls`` the server refuses the account's unencrypted connections (``REQUIRE SSL``).
    ``conn`` must belong to an admin with the GRANT OPTION; commits nothing (account
    statements are not transactional)."""
    if not user:
        raise ConfigError("sensor user name is empty")
    with driver_errors("cannot create the sensor user"):
        return await _create(conn, user, password, database, host, require_tls)


async def _create(
    conn: CONNECTION, user: str, password: str, database: str, host: str, require_tls: bool
) -> SensorUser:
    tls = "SSL" if require_tls else "NONE"
    statements = grant_statements(database)
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s", (user, host)
        )
        row = await cur.fetchone()
        exists = bool(row and row[0])
        before: list[str] = []
        if exists:
            await cur.execute("SELECT CURRENT_USER()")
            me = await cur.fetchone()
            if me is not None and str(me[0]) == f"{user}@{host}":
                raise ConfigError(
                    f"{user!r}@{host!r} is the account running this command: a sensor account "
                    "holds only the sensor grants, give the sensor its own user"
                )
            before = await _grants(cur, user, host)
            await cur.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM %s@%s", (user, host))
            for line in await _grants(cur, user, host):  # roles (MySQL keeps them above)
                m = _ROLE_GRANT.match(line)
                if m is not None:
                    await cur.execute(f"REVOKE {m.group(1)} FROM %s@%s", (user, host))
                elif line.startswith("SET DEFAULT ROLE"):
                    await cur.execute("SET DEFAULT ROLE NONE FOR %s@%s", (user, host))
            await cur.execute(
                f"ALTER USER %s@%s IDENTIFIED BY %s REQUIRE {tls}", (user, host, password)
            )
        else:
            await cur.execute(
                f"CREATE USER %s@%s IDENTIFIED BY %s REQUIRE {tls}", (user, host, password)
            )
        for stmt in statements:
            await cur.execute(stmt, (user, host))
        after = await _grants(cur, user, host)
    extra = [g for g in after if not _is_sensor_grant(g, database)]
    if extra or len(after) != len(statements) + 1:
        raise DbRejected(
            f"{user!r}@{host!r} still holds grants a sensor must not have after revoking them: "
            + "; ".join(extra or after)
        )
    revoked = tuple(g for g in before if not _is_sensor_grant(g, database))
    return SensorUser(created=not exists, revoked=revoked)


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
