"""Registration state: the latest REGISTER outcome per address of record (and sensor)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.calls import opt_from_ts
from db.read.calls import like_prefix
from db.read.models import (
    MAX_LIMIT,
    BadCursor,
    RegistrationFilter,
    RegistrationPage,
    RegistrationState,
)

_COLUMNS = (
    "s.sensor_id", "s.aor", "s.user", "s.domain", "s.contact_ip", "s.src_ip", "s.src_port",
    "ua.user_agent", "s.call_id", "s.result_code", "s.expires", "s.challenged", "s.attempts",
    "s.registered_until", "s.last_success_ts", "s.last_ts",
)  # fmt: skip
_SELECT = (
    f"SELECT {', '.join(_COLUMNS)} FROM registration_state s "
    "LEFT JOIN user_agent ua ON ua.id = s.user_agent_id"
)


def _encode(aor: str, sensor_id: int) -> str:
    return f"{sensor_id}.{base64.urlsafe_b64encode(aor.encode()).decode()}"


def _decode(text: str) -> tuple[str, int]:
    sensor, _, aor = text.partition(".")
    try:
        if not sensor.isdigit():
            raise ValueError
        aor_bytes = base64.b64decode(aor.encode("ascii"), altchars=b"-_", validate=True)
        return aor_bytes.decode(), int(sensor)
    except (ValueError, binascii.Error, UnicodeError):
        raise BadCursor(f"not a paging cursor: {text[:40]!r}") from None


def _where(f: RegistrationFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.sensor_id is not None:
        clauses.append("s.sensor_id = %s")
        params.append(f.sensor_id)
    if f.user is not None:
        clauses.append("s.user = %s")
        params.append(f.user)
    if f.user_prefix is not None:
        clauses.append("s.user LIKE %s")
        params.append(like_prefix(f.user_prefix))
    if f.domain is not None:
        clauses.append("s.domain = %s")
        params.append(f.domain)
    if f.registered_only:
        clauses.append("s.registered_until > UTC_TIMESTAMP(6)")
    if f.failed_only:
        clauses.append("(s.result_code IS NULL OR s.result_code >= 300)")
    if f.sensor_ids is not None:
        if f.sensor_ids:
            clauses.append(f"s.sensor_id IN ({', '.join(['%s'] * len(f.sensor_ids))})")
            params.extend(int(x) for x in f.sensor_ids)
        else:
            clauses.append("FALSE")
    if f.after is not None:
        aor, sensor = _decode(f.after)
        clauses.append("(s.aor > %s OR (s.aor = %s AND s.sensor_id > %s))")
        params += [aor, aor, sensor]
    return clauses, params


@translated("cannot list registrations")
async def list_registrations(conn: CONNECTION, f: RegistrationFilter) -> RegistrationPage:
    """One page of registration states matching ``f``, by AOR then sensor."""
    limit = min(f.limit, MAX_LIMIT)
    clauses, params = _where(f)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    async with conn.cursor() as cur:
        await cur.execute(
            f"{_SELECT}{where} ORDER BY s.aor, s.sensor_id LIMIT %s", (*params, limit + 1)
        )
        rows = list(await cur.fetchall())
    more = len(rows) > limit
    states = [_state(r) for r in rows[:limit]]
    after = _encode(states[-1].aor, states[-1].sensor_id) if more else None
    return RegistrationPage(registrations=states, next=after)


def _state(r: Any) -> RegistrationState:
    return RegistrationState(
        sensor_id=int(r[0]),
        aor=str(r[1]),
        user=str(r[2]),
        domain=str(r[3]),
        contact_ip=v.ip_text(r[4]),
        src_ip=v.ip_text(r[5]),
        src_port=int(r[6]),
        user_agent=r[7],
        call_id=str(r[8]),
        result_code=r[9],
        expires=r[10],
        challenged=bool(r[11]),
        attempts=int(r[12]),
        registered_until=opt_from_ts(r[13]),
        last_success_ts=opt_from_ts(r[14]),
        last_ts=v.from_ts(r[15]),
    )
