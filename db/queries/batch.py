"""One batch of mixed sensor records -> the tables: :func:`store_batch` is the writer's one
call (its own transactions, a time limit, every failure a :class:`~db.errors.DbError`)."""

import asyncio
from collections.abc import Iterable, Sequence

from db.connect import CONNECTION
from db.driver import driver_errors, record_errors, translated
from db.queries.calls import insert_calls
from db.queries.lookups import LookupCache, resolve
from db.queries.messages import insert_messages
from db.queries.registrations import upsert_registrations
from db.queries.streams import insert_orphan_streams
from db.records import CallRecord, MessageRecord, Record, RegistrationRecord, StreamRecord


@translated("cannot write records")
async def write_records(
    conn: CONNECTION, sensor_id: int, records: Iterable[Record], lookups: LookupCache
) -> int:
    """Insert every record (idempotent); returns the number of new rows of the main tables.
    Does not commit."""
    calls: list[CallRecord] = []
    regs: list[RegistrationRecord] = []
    messages: list[MessageRecord] = []
    streams: list[StreamRecord] = []
    for rec in records:
        if isinstance(rec, CallRecord):
            calls.append(rec)
        elif isinstance(rec, RegistrationRecord):
            regs.append(rec)
        elif isinstance(rec, MessageRecord):
            messages.append(rec)
        else:
            streams.append(rec)
    new = await insert_calls(conn, sensor_id, calls, lookups)
    new += await upsert_registrations(conn, sensor_id, regs, lookups)
    new += await insert_messages(conn, sensor_id, messages)
    new += await insert_orphan_streams(conn, sensor_id, streams)
    return new


@translated("cannot resolve lookup ids")
async def resolve_lookups(
    conn: CONNECTION, records: Iterable[Record], lookups: LookupCache
) -> None:
    """Find or create the lookup ids the records need, in a transaction of their own that is
    committed here: the batch transaction then takes no lookup-table locks (two writers never
    deadlock on them) and the cached ids stay valid whatever happens to the batch."""
    reasons: list[str | None] = []
    agents: list[str | None] = []
    for rec in records:
        if isinstance(rec, CallRecord):
            reasons.append(rec.final_reason)
            agents += (rec.caller_ua, rec.called_ua)
        elif isinstance(rec, RegistrationRecord):
            agents.append(rec.user_agent)
    try:
        await resolve(conn, "sip_reason", reasons, lookups)
        await resolve(conn, "user_agent", agents, lookups)
        await conn.commit()
    except BaseException:
        lookups.discard()
        raise
    lookups.confirm()


async def store_batch(
    conn: CONNECTION,
    sensor_id: int,
    records: Sequence[Record],
    lookups: LookupCache,
    *,
    timeout_s: float,
) -> int:
    """Store ``records`` in one committed transaction (lookups in one of their own first),
    within ``timeout_s``. Raises :class:`~db.errors.DbUnavailable` (retry later; the
    connection is then unusable), :class:`~db.errors.DbRejected`, or
    :class:`~db.errors.DbDataError` when a record's content is refused (isolate it)."""
    with driver_errors("cannot write records", timeout_s=timeout_s):
        async with asyncio.timeout(timeout_s):
            with record_errors("a record cannot be stored"):
                await resolve_lookups(conn, records, lookups)
                new = await write_records(conn, sensor_id, records, lookups)
            await conn.commit()
    return new
