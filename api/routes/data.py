"""Registrations, SIP MESSAGEs, unbound RTP streams, sensors and live calls."""

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth.principal import Principal
from api.config import IMPORT_SENSOR_NAME
from api.deps import Config, Conn, Viewer
from api.errors import bad_request, error_responses
from api.schemas.data import (
    LiveCallList,
    LiveCallOut,
    MessageList,
    MessageOut,
    RegistrationEventList,
    RegistrationEventOut,
    RegistrationList,
    RegistrationOut,
    SensorList,
    SensorOut,
    UnboundStreamList,
    UnboundStreamOut,
)
from api.timeutil import naive_utc
from db.read import BadCursor, RegistrationFilter, list_registrations, list_sensors
from db.read.events import (
    EventFilter,
    list_active_calls,
    list_messages,
    list_registration_events,
    list_unbound_streams,
)

router = APIRouter(tags=["data"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[
    str | None, Query(max_length=128, description="`next_cursor` of the previous page")
]
Since = Annotated[dt.datetime | None, Query(description="at or after (UTC unless zoned)")]
Until = Annotated[dt.datetime | None, Query(description="before")]
Sensors = Annotated[list[int] | None, Query(description="sensor ids")]
_TIME_KEYS = (
    "ts",
    "first_ts",
    "last_ts",
    "start",
    "updated_at",
    "registered_until",
    "last_success_ts",
    "last_heartbeat",
    "first_seen",
)


def _times(d: dict[str, Any]) -> dict[str, Any]:
    for k in _TIME_KEYS:
        if isinstance(d.get(k), float):
            d[k] = dt.datetime.fromtimestamp(d[k], dt.UTC)
    return d


def scope(who: Principal, sensor: list[int] | None) -> list[int] | None:
    if sensor is not None:
        return [s for s in sensor if who.sees(s)]
    return None if who.sensor_scope is None else list(who.sensor_scope)


def _epoch(t: dt.datetime | None) -> float | None:
    n = naive_utc(t)
    return None if n is None else n.replace(tzinfo=dt.UTC).timestamp()


def _filter(
    who: Principal,
    sensor: list[int] | None,
    limit: int,
    cursor: str | None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    **more: Any,
) -> EventFilter:
    return EventFilter(
        since=_epoch(since),
        until=_epoch(until),
        sensor_ids=scope(who, sensor),
        limit=limit,
        after=cursor,
        **{k: v for k, v in more.items() if v},
    )


def _cursor_error(exc: BadCursor) -> Exception:
    return bad_request(str(exc), "cursor")


@router.get("/registrations", response_model=RegistrationList, responses=error_responses(401, 422))
async def registrations(
    conn: Conn,
    who: Viewer,
    sensor: Sensors = None,
    user: Annotated[str | None, Query(max_length=128, description="exact; `abc*` prefix")] = None,
    domain: Annotated[str | None, Query(max_length=255)] = None,
    registered: Annotated[bool, Query(description="only AORs registered now")] = False,
    failed: Annotated[bool, Query(description="only AORs whose latest REGISTER failed")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> RegistrationList:
    """Current state per address of record (and sensor), by AOR."""
    crit: dict[str, Any] = {
        "limit": limit,
        "after": cursor,
        "registered_only": registered,
        "failed_only": failed,
        "sensor_ids": scope(who, sensor),
        "domain": domain,
    }
    crit.update(user_criteria(user))
    try:
        page = await list_registrations(conn, RegistrationFilter(**crit))
    except BadCursor as exc:
        raise _cursor_error(exc) from exc
    now = time.time()
    items = [
        RegistrationOut(
            **_times(
                {
                    **r.model_dump(),
                    "registered": bool(r.registered_until and r.registered_until > now),
                }
            )
        )
        for r in page.registrations
    ]
    return RegistrationList(items=items, next_cursor=page.next)


async def _reg_events(
    conn: Any,
    who: Principal,
    kind: str,
    sensor: list[int] | None,
    limit: int,
    cursor: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    user: str | None,
    domain: str | None,
    ip: str | None,
) -> RegistrationEventList:
    more: dict[str, Any] = {"domain": domain, "ip": ip, **user_criteria(user)}
    f = _filter(who, sensor, limit, cursor, since, until, **more)
    try:
        rows, nxt = await list_registration_events(conn, kind, f)  # type: ignore[arg-type]
    except BadCursor as exc:
        raise _cursor_error(exc) from exc
    return RegistrationEventList(
        items=[RegistrationEventOut(**_times(r.model_dump(exclude={"cursor"}))) for r in rows],
        next_cursor=nxt,
    )


User = Annotated[str | None, Query(max_length=128, description="exact; `abc*` prefix")]


def user_criteria(user: str | None) -> dict[str, str]:
    """``abc*`` (one trailing star) is a prefix; any other text an exact user part (a lone
    ``*`` matches only that text: never "every user")."""
    if not user:
        return {}
    if user.endswith("*") and user.count("*") == 1 and len(user) > 1:
        return {"user_prefix": user[:-1]}
    return {"user": user}


Domain = Annotated[str | None, Query(max_length=255)]
Ip = Annotated[str | None, Query(max_length=45)]


@router.get(
    "/registrations/history",
    response_model=RegistrationEventList,
    responses=error_responses(401, 422),
)
async def registration_history(
    conn: Conn,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    sensor: Sensors = None,
    user: User = None,
    domain: Domain = None,
    ip: Ip = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> RegistrationEventList:
    """Accepted REGISTER transactions, newest first."""
    return await _reg_events(
        conn, who, "history", sensor, limit, cursor, since, until, user, domain, ip
    )


@router.get(
    "/registrations/failures",
    response_model=RegistrationEventList,
    responses=error_responses(401, 422),
)
async def registration_failures(
    conn: Conn,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    sensor: Sensors = None,
    user: User = None,
    domain: Domain = None,
    ip: Ip = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> RegistrationEventList:
    """Refused or unanswered REGISTERs (scanners, brute force, bad credentials), newest first."""
    return await _reg_events(
        conn, who, "failure", sensor, limit, cursor, since, until, user, domain, ip
    )


@router.get("/messages", response_model=MessageList, responses=error_responses(401, 422))
async def messages(
    conn: Conn,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    sensor: Sensors = None,
    address: Annotated[
        str | None, Query(max_length=255, description="From or To URI, exactly")
    ] = None,
    ip: Ip = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> MessageList:
    """SIP MESSAGE requests (texts), newest first."""
    f = _filter(who, sensor, limit, cursor, since, until, address=address, ip=ip)
    try:
        rows, nxt = await list_messages(conn, f)
    except BadCursor as exc:
        raise _cursor_error(exc) from exc
    items = [
        MessageOut.model_validate(_times(r.model_dump(by_alias=True, exclude={"cursor"})))
        for r in rows
    ]
    return MessageList(items=items, next_cursor=nxt)


@router.get(
    "/streams/unbound", response_model=UnboundStreamList, responses=error_responses(401, 422)
)
async def unbound_streams(
    conn: Conn,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    sensor: Sensors = None,
    ip: Ip = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> UnboundStreamList:
    """RTP streams that no SDP announced (one-way audio hunts, scanners), newest first."""
    f = _filter(who, sensor, limit, cursor, since, until, ip=ip)
    try:
        rows, nxt = await list_unbound_streams(conn, f)
    except BadCursor as exc:
        raise _cursor_error(exc) from exc
    return UnboundStreamList(
        items=[UnboundStreamOut(**_times(r.model_dump(exclude={"cursor"}))) for r in rows],
        next_cursor=nxt,
    )


@router.get("/sensors", response_model=SensorList, responses=error_responses(401))
async def sensors(conn: Conn, cfg: Config, who: Viewer) -> SensorList:
    """Every sensor: heartbeat age (stale ones marked), packets/s, drops, journal backlog."""
    now = time.time()
    out = []
    for s in await list_sensors(conn):
        if not who.sees(s.id):
            continue
        is_import = s.id == cfg.import_sensor_id and s.name == IMPORT_SENSOR_NAME
        age = None if s.last_heartbeat is None else round(now - s.last_heartbeat, 3)
        status = (
            "import"
            if is_import
            else "never"
            if age is None
            else "stale"
            if age > cfg.stale_after_s
            else "ok"
        )
        out.append(
            SensorOut(
                **_times(s.model_dump()),
                kind="import" if is_import else "sensor",
                status=status,
                heartbeat_age_s=age,
            )
        )
    return SensorList(items=out)


@router.get("/live-calls", response_model=LiveCallList, responses=error_responses(401, 422))
async def live_calls(
    conn: Conn, cfg: Config, who: Viewer, sensor: Sensors = None, limit: Limit = 1000
) -> LiveCallList:
    """Calls in progress, from the sensors' latest snapshots (refreshed each heartbeat)."""
    now = time.time()
    rows = await list_active_calls(conn, scope(who, sensor), limit)
    return LiveCallList(
        items=[
            LiveCallOut(
                **_times(r.model_dump()),
                duration_s=round(max(0.0, r.updated_at - r.start), 3),
                stale=now - r.updated_at > cfg.stale_after_s,
            )
            for r in rows
        ]
    )
