"""One call as the API shows it (``cdr`` row with its lookups, streams and DTMF), and the other
rows of the same call (legs). Rows are dicts of column -> value with IPs as text.

Every read takes the caller's sensor scope (None: every sensor): rows of other sensors are
never returned."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from db.connect import CONNECTION
from db.queries.ipcol import ip_str

_IP_COLUMNS = frozenset({"caller_ip", "called_ip", "src_ip", "dst_ip"})
CALL_COLUMNS = (
    "id", "sensor_id", "uid", "call_id", "caller", "caller_domain", "caller_name", "called",
    "called_domain", "caller_ip", "caller_port", "called_ip", "called_port", "vlan", "invite_ts",
    "ringing_ts", "answer_ts", "end_ts", "duration_s", "connect_duration_s", "final_code",
    "hangup_by", "state", "codecs", "dtmf", "pcap", "bye_code", "challenged", "sip_messages",
    "retransmissions", "transport", "flags",
)  # fmt: skip
_SELECT_CALL = (
    "SELECT " + ", ".join(f"c.{c}" for c in CALL_COLUMNS) + ", r.reason AS final_reason, "
    "ua1.user_agent AS caller_ua, ua2.user_agent AS called_ua, s.name AS sensor_name FROM cdr c "
    "LEFT JOIN sip_reason r ON r.id = c.final_reason_id "
    "LEFT JOIN user_agent ua1 ON ua1.id = c.caller_ua_id "
    "LEFT JOIN user_agent ua2 ON ua2.id = c.called_ua_id "
    "LEFT JOIN sensors s ON s.id = c.sensor_id "
)
STREAM_SELECT = (
    "stream_idx, src_ip, src_port, dst_ip, dst_port, ssrc, payload_type, codec, packets, lost, "
    "loss_pct, duplicates, out_of_order, max_delta_ms, max_jitter_ms, mean_jitter_ms, mos, "
    "first_ts, last_ts, direction, telephone_events, rtcp_sr_count, rtcp_rr_count, "
    "rtcp_fraction_lost_max, rtcp_cumulative_lost, rtcp_jitter_max_ms, rtcp_rtt_avg_ms, "
    "rtcp_rtt_max_ms, rtcp_xr_mos_lq, rtcp_xr_mos_cq, rtcp_xr_r_factor, rtcp_xr_loss_rate, "
    "rtcp_xr_discard_rate"
)
LEG_WINDOW = dt.timedelta(hours=12)
"""Legs are looked for this far around the call's start (partition pruning)."""


def scope_clause(column: str, scope: Sequence[int] | None) -> tuple[str, list[Any]]:
    """``AND column IN (...)`` for a sensor scope ('' for every sensor; never true for [])."""
    if scope is None:
        return "", []
    if not scope:
        return " AND FALSE", []
    return f" AND {column} IN ({', '.join(['%s'] * len(scope))})", [int(s) for s in scope]


def _row(names: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(names, values, strict=True))
    for k in _IP_COLUMNS & out.keys():
        out[k] = ip_str(out[k])
    return out


async def _fetch(cur: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    await cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [_row(names, r) for r in await cur.fetchall()]


async def call_by_id(
    conn: CONNECTION, cdr_id: int, scope: Sequence[int] | None
) -> dict[str, Any] | None:
    """The call with its ``streams`` (list of dicts, record order) and ``dtmf_digits``."""
    clause, params = scope_clause("c.sensor_id", scope)
    async with conn.cursor() as cur:
        rows = await _fetch(cur, _SELECT_CALL + "WHERE c.id = %s" + clause, (cdr_id, *params))
        if not rows:
            return None
        call = rows[0]
        call["streams"] = await _fetch(
            cur,
            f"SELECT {STREAM_SELECT} FROM cdr_rtp WHERE cdr_id = %s AND invite_ts = %s "
            "ORDER BY stream_idx",
            (cdr_id, call["invite_ts"]),
        )
        await cur.execute(
            "SELECT digit, ts FROM cdr_dtmf WHERE cdr_id = %s AND invite_ts = %s ORDER BY seq",
            (cdr_id, call["invite_ts"]),
        )
        call["dtmf_digits"] = [(str(d), t) for d, t in await cur.fetchall()]
    return call


async def legs_of(
    conn: CONNECTION, call: dict[str, Any], scope: Sequence[int] | None
) -> list[dict[str, Any]]:
    """Other rows of the same call: the same Call-ID (other sensors, other captures) within
    :data:`LEG_WINDOW` of its start. Oldest first."""
    clause, params = scope_clause("c.sensor_id", scope)
    start: dt.datetime = call["invite_ts"]
    async with conn.cursor() as cur:
        return await _fetch(
            cur,
            _SELECT_CALL + "WHERE c.call_id = %s AND c.invite_ts BETWEEN %s AND %s "
            "AND c.id <> %s" + clause + " ORDER BY c.invite_ts, c.id LIMIT 50",
            (call["call_id"], start - LEG_WINDOW, start + LEG_WINDOW, call["id"], *params),
        )
