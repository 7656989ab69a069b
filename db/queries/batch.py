"""One batch of mixed sensor records -> the tables, inside the caller's transaction."""

from collections.abc import Iterable

from db.connect import CONNECTION
from db.queries.calls import insert_calls
from db.queries.lookups import LookupCache, resolve
from db.queries.messages import insert_messages
from db.queries.registrations import upsert_registrations
from db.queries.streams import insert_orphan_streams
from sniffer.records import CallRecord, MessageRecord, Record, RegistrationRecord, StreamRecord


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
