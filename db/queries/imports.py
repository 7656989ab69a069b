"""The ``sensors`` row under which imported captures appear (written by the API)."""

from db.connect import CONNECTION
from db.driver import translated
from db.queries.apiauth import utcnow


@translated("cannot read or write the import sensor")
async def register_import_sensor(conn: CONNECTION, sensor_id: int, name: str) -> None:
    """Create the import pseudo-sensor's row, or mark it used now (its ``last_heartbeat`` is
    the time of the latest import)."""
    now = utcnow()
    async with conn.cursor() as cur:
        await cur.execute(
            "INSERT INTO sensors (id, name, host, version, first_seen, last_heartbeat) "
            "VALUES (%s, %s, '', 'import', %s, %s) "
            "ON DUPLICATE KEY UPDATE name = VALUES(name), last_heartbeat = VALUES(last_heartbeat)",
            (sensor_id, name[:64], now, now),
        )
