"""Time-ordered records for the API, newest first with keyset cursors: REGISTER transactions
(accepted: ``registration_history``, refused or unanswered: ``registration_failure``), SIP
MESSAGEs, RTP streams bound to no call, and the sensors' snapshots of calls in progress."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.read.calls import like_prefix
from db.read.models import MAX_LIMIT, BadCursor, Model

_EPOCH = dt.datetime(1970, 1, 1)
_CURSOR = re.compile(r"(\d{1,19})\.([0-9a-f]{32})\.(\d{1,10})")


class EventFilter(Model):
    since: float | None = None
    until: float | None = None
    sensor_ids: list[int] | None = None
    user: str | None = Field(None, description="registrations: user part, exactly")
    user_prefix: str | None = Field(None, min_length=1)
    domain: str | None = None
    ip: str | None = Field(
        None, description="source IP (registrations, messages), either IP (streams)"
    )
    address: str | None = Field(None, description="messages: From or To URI, exactly")
    limit: int = Field(100, ge=1)
    after: str | None = None


class RegistrationEvent(Model):
    sensor_id: int
    ts: float
    user: str
    domain: str
    contact_ip: str
    src_ip: str
    src_port: int
    user_agent: str | None
    call_id: str
    result_code: int | None
    expires: int | None
    challenged: bool
    attempts: int
    cursor: str


class MessageEvent(Model):
    sensor_id: int
    ts: float
    from_: str = Field(alias="from")
    to: str
    body: str
    truncated: bool
    result_code: int | None
    call_id: str
    src_ip: str
    dst_ip: str
    cursor: str


class UnboundStream(Model):
    sensor_id: int
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    ssrc: int
    payload_type: int
    codec: str
    packets: int
    lost: int
    loss_pct: float
    max_jitter_ms: float | None
    mean_jitter_ms: float | None
    mos: float | None
    first_ts: float
    last_ts: float
    cursor: str


class ActiveCall(Model):
    sensor_id: int
    call_id: str
    caller: str
    called: str
    start: float
    state: str
    updated_at: float


def _encode(ts: dt.datetime, digest: bytes, sensor: int) -> str:
    d = ts - _EPOCH
    micros = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    return f"{micros}.{bytes(digest).hex()}.{sensor}"


def _decode(text: str) -> tuple[dt.datetime, bytes, int]:
    m = _CURSOR.fullmatch(text)
    if m is None:
        raise BadCursor(f"not a paging cursor: {text[:40]!r}")
    try:
        ts = _EPOCH + dt.timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise BadCursor(f"not a paging cursor: {text[:40]!r}") from None
    return ts, bytes.fromhex(m.group(2)), int(m.group(3))


def _where(
    f: EventFilter,
    time_col: str,
    *,
    user: bool = False,
    ip_cols: Sequence[str] = (),
    address: bool = False,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.since is not None:
        clauses.append(f"t.{time_col} >= %s")
        params.append(v.ts(f.since))
    if f.until is not None:
        clauses.append(f"t.{time_col} < %s")
        params.append(v.ts(f.until))
    if f.sensor_ids is not None:
        if f.sensor_ids:
            clauses.append(f"t.sensor_id IN ({', '.join(['%s'] * len(f.sensor_ids))})")
            params.extend(int(s) for s in f.sensor_ids)
        else:
            clauses.append("FALSE")
    if user:
        if f.user is not None:
            clauses.append("t.user = %s")
            params.append(f.user)
        if f.user_prefix is not None:
            clauses.append("t.user LIKE %s")
            params.append(like_prefix(f.user_prefix))
        if f.domain is not None:
            clauses.append("t.domain = %s")
            params.append(f.domain)
    if address and f.address is not None:
        clauses.append("(t.`from` = %s OR t.`to` = %s)")
        params += [f.address, f.address]
    if f.ip is not None and ip_cols:
        packed = v.ip(f.ip)
        if packed is None:
            clauses.append("FALSE")
        else:
            clauses.append("(" + " OR ".join(f"t.{c} = %s" for c in ip_cols) + ")")
            params += [packed] * len(ip_cols)
    if f.after is not None:
        ts, digest, sensor = _decode(f.after)
        clauses.append(
            f"(t.{time_col} < %s OR (t.{time_col} = %s AND (t.digest < %s OR "
            "(t.digest = %s AND t.sensor_id < %s))))"
        )
        params += [ts, ts, digest, digest, sensor]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_REG = (
    "SELECT t.sensor_id, t.ts, t.user, t.domain, t.contact_ip, t.src_ip, t.src_port, "
    "ua.user_agent, t.call_id, t.result_code, t.expires, t.challenged, t.attempts, t.digest "
    "FROM {table} t LEFT JOIN user_agent ua ON ua.id = t.user_agent_id"
)


@translated("cannot list REGISTER transactions")
async def list_registration_events(
    conn: CONNECTION, kind: Literal["history", "failure"], f: EventFilter
) -> tuple[list[RegistrationEvent], str | None]:
    """Accepted (``history``) or refused/unanswered (``failure``) REGISTERs, newest first."""
    table = "registration_history" if kind == "history" else "registration_failure"
    where, params = _where(f, "ts", user=True, ip_cols=("src_ip",))
    limit = min(f.limit, MAX_LIMIT)
    async with conn.cursor() as cur:
        await cur.execute(
            _REG.format(table=table)
            + where
            + " ORDER BY t.ts DESC, t.digest DESC, t.sensor_id DESC LIMIT %s",
            (*params, limit + 1),
        )
        rows = list(await cur.fetchall())
    out = [
        RegistrationEvent(
            sensor_id=int(r[0]),
            ts=v.from_ts(r[1]),
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
            cursor=_encode(r[1], r[13], int(r[0])),
        )
        for r in rows[:limit]
    ]
    return out, (out[-1].cursor if len(rows) > limit else None)


@translated("cannot list SIP messages")
async def list_messages(conn: CONNECTION, f: EventFilter) -> tuple[list[MessageEvent], str | None]:
    where, params = _where(f, "ts", ip_cols=("src_ip", "dst_ip"), address=True)
    limit = min(f.limit, MAX_LIMIT)
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT t.sensor_id, t.ts, t.`from`, t.`to`, t.body, t.truncated, t.result_code, "
            f"t.call_id, t.src_ip, t.dst_ip, t.digest FROM sip_message t{where} "
            "ORDER BY t.ts DESC, t.digest DESC, t.sensor_id DESC LIMIT %s",
            (*params, limit + 1),
        )
        rows = list(await cur.fetchall())
    out = [
        MessageEvent.model_validate(
            {
                "sensor_id": int(r[0]),
                "ts": v.from_ts(r[1]),
                "from": str(r[2]),
                "to": str(r[3]),
                "body": str(r[4]),
                "truncated": bool(r[5]),
                "result_code": r[6],
                "call_id": str(r[7]),
                "src_ip": v.ip_text(r[8]),
                "dst_ip": v.ip_text(r[9]),
                "cursor": _encode(r[1], r[10], int(r[0])),
            }
        )
        for r in rows[:limit]
    ]
    return out, (out[-1].cursor if len(rows) > limit else None)


@translated("cannot list unbound RTP streams")
async def list_unbound_streams(
    conn: CONNECTION, f: EventFilter
) -> tuple[list[UnboundStream], str | None]:
    where, params = _where(f, "first_ts", ip_cols=("src_ip", "dst_ip"))
    limit = min(f.limit, MAX_LIMIT)
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT t.sensor_id, t.src_ip, t.src_port, t.dst_ip, t.dst_port, t.ssrc, "
            "t.payload_type, t.codec, t.packets, t.lost, t.loss_pct, t.max_jitter_ms, "
            f"t.mean_jitter_ms, t.mos, t.first_ts, t.last_ts, t.digest FROM rtp_orphan t{where} "
            "ORDER BY t.first_ts DESC, t.digest DESC, t.sensor_id DESC LIMIT %s",
            (*params, limit + 1),
        )
        rows = list(await cur.fetchall())
    out = [
        UnboundStream(
            sensor_id=int(r[0]),
            src_ip=v.ip_text(r[1]),
            src_port=int(r[2]),
            dst_ip=v.ip_text(r[3]),
            dst_port=int(r[4]),
            ssrc=int(r[5]),
            payload_type=int(r[6]),
            codec=str(r[7]),
            packets=int(r[8]),
            lost=int(r[9]),
            loss_pct=float(r[10]),
            max_jitter_ms=None if r[11] is None else float(r[11]),
            mean_jitter_ms=None if r[12] is None else float(r[12]),
            mos=None if r[13] is None else float(r[13]),
            first_ts=v.from_ts(r[14]),
            last_ts=v.from_ts(r[15]),
            cursor=_encode(r[14], r[16], int(r[0])),
        )
        for r in rows[:limit]
    ]
    return out, (out[-1].cursor if len(rows) > limit else None)


@translated("cannot list calls in progress")
async def list_active_calls(
    conn: CONNECTION, sensor_ids: Sequence[int] | None, limit: int = MAX_LIMIT
) -> list[ActiveCall]:
    """The sensors' latest snapshots of calls in progress, newest call first."""
    clause, params = "", []
    if sensor_ids is not None:
        clause = (
            f" WHERE sensor_id IN ({', '.join(['%s'] * len(sensor_ids))})"
            if sensor_ids
            else " WHERE FALSE"
        )
        params = [int(s) for s in sensor_ids]
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT sensor_id, call_id, caller, called, start, state, updated_at FROM "
            f"active_calls{clause} ORDER BY start DESC, call_id LIMIT %s",
            (*params, min(limit, MAX_LIMIT)),
        )
        rows = await cur.fetchall()
    return [
        ActiveCall(
            sensor_id=int(r[0]),
            call_id=str(r[1]),
            caller=str(r[2]),
            called=str(r[3]),
            start=v.from_ts(r[4]),
            state=str(r[5]),
            updated_at=v.from_ts(r[6]),
        )
        for r in rows
    ]
