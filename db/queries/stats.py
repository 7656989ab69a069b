"""Row counts per sensor (status pages, tests)."""

from db.connect import CONNECTION
from db.driver import translated

_COUNTS: dict[str, str] = {
    "cdr": "SELECT COUNT(*) FROM cdr WHERE sensor_id = %s",
    "cdr_rtp": (
        "SELECT COUNT(*) FROM cdr_rtp r JOIN cdr c ON c.id = r.cdr_id AND c.invite_ts = r.invite_ts "
        "WHERE c.sensor_id = %s"
    ),
    "cdr_dtmf": (
        "SELECT COUNT(*) FROM cdr_dtmf d JOIN cdr c ON c.id = d.cdr_id AND c.invite_ts = d.invite_ts "
        "WHERE c.sensor_id = %s"
    ),
    "cdr_problem": (
        "SELECT COUNT(*) FROM cdr_problem p JOIN cdr c ON c.id = p.cdr_id AND c.invite_ts = p.invite_ts "
        "WHERE c.sensor_id = %s"
    ),
    "cdr_leg_key": (
        "SELECT COUNT(*) FROM cdr_leg_key k JOIN cdr c ON c.id = k.cdr_id AND c.invite_ts = k.invite_ts "
        "WHERE c.sensor_id = %s"
    ),
    "cdr_leg_link": (
        "SELECT COUNT(*) FROM cdr_leg_link l JOIN cdr c ON c.id = l.cdr_id AND c.invite_ts = l.invite_ts "
        "WHERE c.sensor_id = %s"
    ),
    "rtp_orphan": "SELECT COUNT(*) FROM rtp_orphan WHERE sensor_id = %s",
    "registration_state": "SELECT COUNT(*) FROM registration_state WHERE sensor_id = %s",
    "registration_history": "SELECT COUNT(*) FROM registration_history WHERE sensor_id = %s",
    "registration_failure": "SELECT COUNT(*) FROM registration_failure WHERE sensor_id = %s",
    "sip_message": "SELECT COUNT(*) FROM sip_message WHERE sensor_id = %s",
    "active_calls": "SELECT COUNT(*) FROM active_calls WHERE sensor_id = %s",
}


@translated("cannot count rows")
async def sensor_row_counts(conn: CONNECTION, sensor_id: int) -> dict[str, int]:
    """Rows each table holds for ``sensor_id`` (children counted through their ``cdr`` row)."""
    out: dict[str, int] = {}
    async with conn.cursor() as cur:
        for table, sql in _COUNTS.items():
            await cur.execute(sql, (sensor_id,))
            row = await cur.fetchone()
            out[table] = int(row[0]) if row else 0
    return out


@translated("cannot count duplicate calls")
async def duplicate_call_uids(conn: CONNECTION, sensor_id: int) -> int:
    """Call uids stored more than once for ``sensor_id`` (0 when delivery is exactly-once)."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT COUNT(*) FROM (SELECT uid FROM cdr WHERE sensor_id = %s "
            "GROUP BY uid HAVING COUNT(*) > 1) d",
            (sensor_id,),
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@translated("cannot read call uids")
async def call_uids(conn: CONNECTION, sensor_id: int) -> list[str]:
    """The uids of a sensor's call records, oldest call first."""
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT uid FROM cdr WHERE sensor_id = %s ORDER BY invite_ts, id", (sensor_id,)
        )
        return [str(r[0]) for r in await cur.fetchall()]
