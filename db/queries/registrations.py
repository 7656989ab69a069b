"""REGISTER outcomes: ``registration_state`` (latest per AOR and sensor, upserted),
``registration_history`` (accepted: 2xx) and ``registration_failure`` (error or no answer).

History and failure rows are idempotent through a content digest. The state upsert only moves
forward in time (``last_ts``), so replaying old records never overwrites a newer state."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.lookups import LookupCache, lookup_key, resolve
from db.queries.sql import insert_once
from db.records import RegistrationRecord

_EVENT_COLUMNS = (
    "sensor_id",
    "digest",
    "ts",
    "user",
    "domain",
    "contact_ip",
    "src_ip",
    "src_port",
    "user_agent_id",
    "call_id",
    "result_code",
    "expires",
    "challenged",
    "attempts",
)
_INSERT_HISTORY = insert_once("registration_history", _EVENT_COLUMNS, "sensor_id")
_INSERT_FAILURE = insert_once("registration_failure", _EVENT_COLUMNS, "sensor_id")

_LATEST = _EVENT_COLUMNS[_EVENT_COLUMNS.index("contact_ip") :]
"""Facts of the latest REGISTER transaction, replaced when a newer one arrives."""
_STATE_COLUMNS = (
    "sensor_id",
    "aor",
    "user",
    "domain",
    *_LATEST,
    "registered_until",
    "last_success_ts",
    "last_ts",
)
_NEWER = "VALUES(last_ts) >= last_ts"
_NEWER_SUCCESS = (
    "VALUES(last_success_ts) IS NOT NULL "
    "AND (last_success_ts IS NULL OR VALUES(last_success_ts) >= last_success_ts)"
)
# ON DUPLICATE KEY UPDATE assigns left to right and later expressions see the new values:
# the columns that guard the others (last_success_ts, last_ts) are assigned last.
_UPSERT_STATE = (
    f"INSERT IGNORE INTO registration_state ({', '.join(_STATE_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_STATE_COLUMNS))}) ON DUPLICATE KEY UPDATE "
    + ", ".join(f"{c} = IF({_NEWER}, VALUES({c}), {c})" for c in _LATEST)
    + f", registered_until = IF({_NEWER_SUCCESS}, VALUES(registered_until), registered_until)"
    + f", last_success_ts = IF({_NEWER_SUCCESS}, VALUES(last_success_ts), last_success_ts)"
    + ", last_ts = GREATEST(last_ts, VALUES(last_ts))"
)


def is_success(rec: RegistrationRecord) -> bool:
    return rec.result_code is not None and 200 <= rec.result_code < 300


def aor(rec: RegistrationRecord) -> str:
    """Address of record ``user@domain`` (domain lower-cased: host names ignore case)."""
    return v.text(f"{rec.user}@{rec.domain.lower()}", 384)


def _latest(rec: RegistrationRecord, uas: dict[str, int]) -> tuple[Any, ...]:
    ua = lookup_key(rec.user_agent) if rec.user_agent and rec.user_agent.strip() else None
    return (
        v.ip(rec.contact_ip),
        v.ip(rec.src_ip),
        v.uint(rec.src_port, v.U16),
        uas.get(ua) if ua else None,
        v.text(rec.call_id, 255),
        v.opt_uint(rec.result_code, v.U16),
        v.opt_uint(rec.expires, v.U32),
        1 if rec.challenged else 0,
        v.uint(rec.attempts, v.U32),
    )


def _registered_until(rec: RegistrationRecord, at: dt.datetime) -> dt.datetime | None:
    if rec.expires is None:
        return None
    return at + dt.timedelta(seconds=min(max(rec.expires, 0), 10 * 365 * 86400))


@translated("cannot write registrations")
async def upsert_registrations(
    conn: CONNECTION,
    sensor_id: int,
    regs: Sequence[RegistrationRecord],
    lookups: LookupCache | None = None,
) -> int:
    """Record REGISTER outcomes (state + history/failure). Returns new history/failure rows."""
    if not regs:
        return 0
    cache = lookups if lookups is not None else LookupCache()
    uas = await resolve(conn, "user_agent", (r.user_agent for r in regs), cache)
    history: list[tuple[Any, ...]] = []
    failures: list[tuple[Any, ...]] = []
    state: list[tuple[Any, ...]] = []
    # AOR order: concurrent writers lock registration_state rows in the same order
    for rec in sorted(regs, key=lambda r: (aor(r), r.ts)):
        at = v.ts(rec.ts)
        user, domain = v.text(rec.user, 128), v.text(rec.domain, 255)
        latest = _latest(rec, uas)
        ok = is_success(rec)
        (history if ok else failures).append((sensor_id, v.digest(rec), at, user, domain, *latest))
        state.append(
            (
                sensor_id,
                aor(rec),
                user,
                domain,
                *latest,
                _registered_until(rec, at) if ok else None,
                at if ok else None,
                at,
            )
        )
    inserted = 0
    async with conn.cursor() as cur:
        if history:
            await cur.executemany(_INSERT_HISTORY, history)
            inserted += int(cur.rowcount)
        if failures:
            await cur.executemany(_INSERT_FAILURE, failures)
            inserted += int(cur.rowcount)
        await cur.executemany(_UPSERT_STATE, state)
    return inserted


@translated("cannot read a registration")
async def fetch_registration_state(
    conn: CONNECTION, sensor_id: int, user: str, domain: str
) -> dict[str, Any] | None:
    """The stored state of ``user@domain`` seen by ``sensor_id`` (column -> value), or None."""
    async with conn.cursor() as cur:
        await cur.execute(
            f"SELECT {', '.join(_STATE_COLUMNS)} FROM registration_state "
            "WHERE sensor_id = %s AND aor = %s",
            (sensor_id, v.text(f"{user}@{domain.lower()}", 384)),
        )
        row = await cur.fetchone()
    return None if row is None else dict(zip(_STATE_COLUMNS, row, strict=True))
