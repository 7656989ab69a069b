"""RTP stream columns (shared by ``cdr_rtp`` and ``rtp_orphan``) and orphan stream inserts."""

from collections.abc import Sequence
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.sql import insert_once
from db.records import RtcpSummary, StreamRecord

STREAM_COLUMNS: tuple[str, ...] = (
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "ssrc",
    "payload_type",
    "codec",
    "packets",
    "lost",
    "loss_pct",
    "duplicates",
    "out_of_order",
    "max_delta_ms",
    "max_jitter_ms",
    "mean_jitter_ms",
    "mos",
    "first_ts",
    "last_ts",
    "direction",
    "telephone_events",
    "playout_discard_pct",
    "rtcp_sr_count",
    "rtcp_rr_count",
    "rtcp_fraction_lost_max",
    "rtcp_cumulative_lost",
    "rtcp_jitter_max_ms",
    "rtcp_rtt_avg_ms",
    "rtcp_rtt_max_ms",
    "rtcp_xr_mos_lq",
    "rtcp_xr_mos_cq",
    "rtcp_xr_r_factor",
    "rtcp_xr_loss_rate",
    "rtcp_xr_discard_rate",
)
"""``StreamRecord`` fields, then its ``RtcpSummary`` as ``rtcp_*`` (all NULL when no RTCP)."""

_NO_RTCP: tuple[None, ...] = (None,) * 12
_RTCP_AT = STREAM_COLUMNS.index("rtcp_sr_count")

_ORPHAN_COLUMNS = ("sensor_id", "digest", *STREAM_COLUMNS)
_INSERT_ORPHAN = insert_once("rtp_orphan", _ORPHAN_COLUMNS, "sensor_id")


def stream_values(s: StreamRecord) -> tuple[Any, ...]:
    """Column values in :data:`STREAM_COLUMNS` order."""
    r = s.rtcp
    rtcp: tuple[Any, ...] = _NO_RTCP
    if r is not None:
        rtcp = (
            v.uint(r.sr_count, v.U32),
            v.uint(r.rr_count, v.U32),
            v.opt_real(r.fraction_lost_max),
            v.sint(r.cumulative_lost),
            v.opt_real(r.jitter_max_ms),
            v.opt_real(r.rtt_avg_ms),
            v.opt_real(r.rtt_max_ms),
            v.opt_real(r.xr_mos_lq),
            v.opt_real(r.xr_mos_cq),
            v.opt_uint(r.xr_r_factor, v.U16),
            v.opt_real(r.xr_loss_rate),
            v.opt_real(r.xr_discard_rate),
        )
    return (
        v.ip(s.src_ip),
        v.uint(s.src_port, v.U16),
        v.ip(s.dst_ip),
        v.uint(s.dst_port, v.U16),
        v.uint(s.ssrc, v.U32),
        v.uint(s.payload_type, 0xFF),
        v.text(s.codec, 64),
        v.uint(s.packets, v.U32),
        v.sint(s.lost),
        v.real(s.loss_pct),
        v.uint(s.duplicates, v.U32),
        v.uint(s.out_of_order, v.U32),
        v.opt_real(s.max_delta_ms),
        v.opt_real(s.max_jitter_ms),
        v.opt_real(s.mean_jitter_ms),
        v.opt_real(s.mos),
        v.ts(s.first_ts),
        v.ts(s.last_ts),
        v.opt_atext(s.direction, 8),
        v.uint(s.telephone_events, v.U32),
        v.opt_real(s.playout_discard_pct),
        *rtcp,
    )


def stream_from_row(row: Sequence[Any]) -> StreamRecord:
    """Inverse of :func:`stream_values` for a row selected in :data:`STREAM_COLUMNS` order."""
    rtcp = None
    r = row[_RTCP_AT:]
    if r[0] is not None:
        rtcp = RtcpSummary(
            sr_count=int(r[0]),
            rr_count=int(r[1] or 0),
            fraction_lost_max=r[2],
            cumulative_lost=r[3],
            jitter_max_ms=r[4],
            rtt_avg_ms=r[5],
            rtt_max_ms=r[6],
            xr_mos_lq=r[7],
            xr_mos_cq=r[8],
            xr_r_factor=r[9],
            xr_loss_rate=r[10],
            xr_discard_rate=r[11],
        )
    return StreamRecord(
        src_ip=v.ip_text(row[0]),
        src_port=int(row[1]),
        dst_ip=v.ip_text(row[2]),
        dst_port=int(row[3]),
        ssrc=int(row[4]),
        payload_type=int(row[5]),
        codec=str(row[6]),
        packets=int(row[7]),
        lost=int(row[8]),
        loss_pct=float(row[9]),
        duplicates=int(row[10]),
        out_of_order=int(row[11]),
        max_delta_ms=_opt_float(row[12]),
        max_jitter_ms=_opt_float(row[13]),
        mean_jitter_ms=_opt_float(row[14]),
        mos=row[15],
        first_ts=v.from_ts(row[16]),
        last_ts=v.from_ts(row[17]),
        direction=row[18],
        telephone_events=int(row[19]),
        playout_discard_pct=_opt_float(row[20]),
        rtcp=rtcp,
    )


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


@translated("cannot write RTP streams")
async def insert_orphan_streams(
    conn: CONNECTION, sensor_id: int, streams: Sequence[StreamRecord]
) -> int:
    """RTP streams bound to no call; idempotent (content digest). Returns rows inserted."""
    if not streams:
        return 0
    rows = [(sensor_id, v.digest(s), *stream_values(s)) for s in streams]
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT_ORPHAN, rows)
        return int(cur.rowcount)
