"""Every parameterised statement the sensor runs, by table group. None of them commits."""

from db.queries.batch import resolve_lookups, store_batch, write_records
from db.queries.calls import fetch_call, insert_calls
from db.queries.lookups import LookupCache
from db.queries.messages import insert_messages
from db.queries.registrations import fetch_registration_state, upsert_registrations
from db.queries.sensors import (
    ActiveCall,
    SensorStatus,
    claim_sensor_id,
    fetch_active_calls,
    fetch_sensor,
    replace_active_calls,
    store_heartbeat,
    upsert_sensor,
)
from db.queries.stats import call_uids, duplicate_call_uids, sensor_row_counts
from db.queries.streams import insert_orphan_streams

__all__ = [
    "ActiveCall",
    "LookupCache",
    "SensorStatus",
    "call_uids",
    "claim_sensor_id",
    "duplicate_call_uids",
    "fetch_active_calls",
    "fetch_call",
    "fetch_registration_state",
    "fetch_sensor",
    "insert_calls",
    "insert_messages",
    "insert_orphan_streams",
    "replace_active_calls",
    "resolve_lookups",
    "sensor_row_counts",
    "store_batch",
    "store_heartbeat",
    "upsert_registrations",
    "upsert_sensor",
    "write_records",
]
