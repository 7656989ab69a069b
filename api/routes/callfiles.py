"""One call: its record, pcap, SIP flow, audio, RTP series and legs."""

import dataclasses
import datetime as dt
import re
from typing import Annotated, Any

from anyio import CapacityLimiter
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.audit import audit
from api.callview import call_row, summary_row
from api.deps import Config, Conn, Operator, Viewer
from api.errors import ApiError, error_responses, json_model, not_found
from api.media.audio import AudioError, NoAudio, StreamInfo, UnsupportedCodec, render_wav
from api.media.rtp import StreamKey, rtp_packets
from api.media.series import per_second
from api.pcap.export import stream_raw, stream_sip_only
from api.pcap.flow import MAX_MESSAGES, FlowMessage, call_flow
from api.schemas.calls import (
    CallDetail,
    DtmfOut,
    Host,
    LegKeysOut,
    LegLinkOut,
    LegOut,
    Legs,
    ProblemOut,
    RtpSeries,
    SecondOut,
    SipFlow,
    SipMessageOut,
    StreamSeries,
    stream_out,
)
from api.spool import call_pcap
from db.connect import CONNECTION
from db.queries.aliases import aliases_for
from db.read import get_call, get_sensor, list_legs, list_sensors

router = APIRouter(prefix="/calls", tags=["calls"])
CallId = Annotated[int, Path(ge=1, le=(1 << 63) - 1, description="the call's cdr id")]
HEAVY = CapacityLimiter(4)
"""Pcap reads (flows, audio, series) running at once; the others wait."""
PCAP_TYPE = "application/vnd.tcpdump.pcap"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


async def load_call(
    conn: CONNECTION, call_id: int, scope: tuple[int, ...] | None
) -> dict[str, Any]:
    detail = await get_call(conn, call_id, scope)
    if detail is None:
        raise not_found(f"no call with id {call_id}")
    sensor = await get_sensor(conn, detail.sensor_id)
    call = call_row(detail, sensor.name if sensor else None)
    call["_detail"] = detail
    return call


def pcap_name(call: dict[str, Any], suffix: str = "") -> str:
    cid = _UNSAFE.sub("_", str(call["call_id"]))[:60]
    return f"callsift-{call['id']}-{call['invite_ts']:%Y%m%d-%H%M%S}-{cid}{suffix}.pcap"


def call_detail(call: dict[str, Any]) -> CallDetail:
    fields = {k: call[k] for k in CallDetail.model_fields if k in call}
    fields["codecs"] = [c for c in (call["codecs"] or "").split(",") if c]
    fields["flags"] = [f for f in (call["flags"] or "").split(",") if f]
    fields["challenged"] = bool(call["challenged"])
    ringing = call["ringing_ts"]
    if call.get("pdd_ms") is None and ringing is not None:  # a row stored before migration 5
        fields["pdd_ms"] = round((ringing - call["invite_ts"]).total_seconds() * 1000, 3)
    fields["problems"] = [ProblemOut(code=p.code, detail=p.detail) for p in call["problems"]]
    fields["leg_keys"] = LegKeysOut(**dataclasses.asdict(call["leg_keys"]))
    fields["leg_links"] = [
        LegLinkOut(uid=x.uid, call_id=x.call_id, reason=x.reason) for x in call["leg_links"]
    ]
    fields["has_pcap"] = bool(call["pcap"])
    fields["pcap_name"] = pcap_name(call) if call["pcap"] else None
    fields["streams"] = [stream_out(s) for s in call["streams"]]
    fields["dtmf_digits"] = [DtmfOut(digit=d, ts=t) for d, t in call["dtmf_digits"]]
    return CallDetail(**fields)


@router.get("/{call_id}", response_model=CallDetail, responses=error_responses(401, 404, 422))
async def call_record(call_id: CallId, conn: Conn, who: Viewer) -> CallDetail:
    """The whole record: every CDR field, the RTP streams with their RTCP figures, DTMF."""
    return call_detail(await load_call(conn, call_id, who.sensor_scope))


@router.get(
    "/{call_id}/pcap",
    response_class=StreamingResponse,
    responses={
        200: {"content": {PCAP_TYPE: {}}, "description": "the call's pcap"},
        **error_responses(401, 403, 404, 422),
    },
)
async def get_pcap(
    call_id: CallId,
    request: Request,
    conn: Conn,
    cfg: Config,
    who: Operator,
    sip_only: Annotated[bool, Query(description="signalling only, filtered on the fly")] = False,
) -> StreamingResponse:
    """The call's pcap as recorded (decompressed if the spool gzips), or its SIP only."""
    call = await load_call(conn, call_id, who.sensor_scope)
    path = call_pcap(cfg.spool_dir, call["pcap"])
    await audit(conn, request, who, "pcap_download", str(call_id), {"sip_only": sip_only})
    name = pcap_name(call, "-sip" if sip_only else "")
    body = stream_sip_only(path) if sip_only else stream_raw(path)
    return StreamingResponse(
        body,
        media_type=PCAP_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _hosts(msgs: list[FlowMessage], aliases: dict[str, str]) -> list[Host]:
    order: dict[str, Host] = {}
    for m in msgs:
        for ip, port in ((m.src_ip, m.src_port), (m.dst_ip, m.dst_port)):
            h = order.get(ip)
            if h is None:
                h = order[ip] = Host(ip=ip, ports=[], alias=aliases.get(ip), user_agents=[])
            if port not in h.ports:
                h.ports.append(port)
        if m.user_agent and m.user_agent not in order[m.src_ip].user_agents:
            order[m.src_ip].user_agents.append(m.user_agent)
    return list(order.values())


def flow_items(msgs: list[tuple[FlowMessage, int | None]], raw: bool) -> list[SipMessageOut]:
    out: list[SipMessageOut] = []
    t0 = msgs[0][0].ts if msgs else 0.0
    prev = t0
    for i, (m, leg) in enumerate(msgs):
        out.append(
            SipMessageOut(
                index=i,
                ts=_utc(m.ts),
                offset_ms=round((m.ts - t0) * 1000, 3),
                delta_ms=round((m.ts - prev) * 1000, 3),
                src_ip=m.src_ip,
                src_port=m.src_port,
                dst_ip=m.dst_ip,
                dst_port=m.dst_port,
                transport=m.transport,
                method=m.method,
                status=m.status,
                reason=m.reason,
                cseq=m.cseq,
                cseq_method=m.cseq_method,
                call_id=m.call_id,
                from_tag=m.from_tag,
                to_tag=m.to_tag,
                via_branch=m.branch,
                retransmission=m.retransmission,
                summary=m.summary,
                user_agent=m.user_agent,
                sdp=m.sdp,
                leg_id=leg,
                raw=m.raw if raw else None,
            )
        )
        prev = m.ts
    return out


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


async def sip_flow_of(
    conn: CONNECTION, cfg: Any, call: dict[str, Any], legs: bool, scope: tuple[int, ...] | None
) -> tuple[list[tuple[FlowMessage, int | None]], list[str]]:
    rows = [call]
    if legs:
        rows += [summary_row(leg.call) for leg in await list_legs(conn, call["_detail"], scope)]
    merged: list[tuple[FlowMessage, int | None]] = []
    for row in rows:
        if row is not call and not row["pcap"]:
            continue
        path = call_pcap(cfg.spool_dir, row["pcap"])
        async with HEAVY:
            msgs = await run_in_threadpool(call_flow, [path], {row["call_id"]})
        merged.extend((m, row["id"]) for m in msgs)
    merged.sort(key=lambda x: x[0].ts)
    return merged, sorted({r["call_id"] for r in rows})


@router.get("/{call_id}/sip", response_model=SipFlow, responses=error_responses(401, 404, 422))
async def get_sip(
    call_id: CallId,
    conn: Conn,
    cfg: Config,
    who: Viewer,
    raw: Annotated[bool, Query(description="include each message's text")] = False,
    legs: Annotated[bool, Query(description="merge the flows of the call's other legs")] = False,
) -> Response:
    """The SIP messages read from the call's pcap, in time order, as a ladder needs them."""
    call = await load_call(conn, call_id, who.sensor_scope)
    merged, call_ids = await sip_flow_of(conn, cfg, call, legs, who.sensor_scope)
    msgs = [m for m, _ in merged]
    ips = {m.src_ip for m in msgs} | {m.dst_ip for m in msgs}
    aliases = await aliases_for(conn, ips)
    return json_model(
        SipFlow(
            call_ids=call_ids,
            hosts=_hosts(msgs, aliases),
            items=flow_items(merged, raw),
            truncated=len(msgs) >= MAX_MESSAGES,
        )
    )


def _stream_infos(call: dict[str, Any]) -> list[tuple[dict[str, Any], StreamInfo]]:
    out = []
    for s in call["streams"]:
        if s["src_ip"] is None or s["dst_ip"] is None:
            continue
        key = StreamKey(s["src_ip"], s["src_port"], s["dst_ip"], s["dst_port"], s["ssrc"])
        out.append((s, StreamInfo(key, s["direction"], s["codec"], s["payload_type"])))
    return out


@router.get(
    "/{call_id}/audio.wav",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "16-bit PCM WAV, 8 kHz"},
        **error_responses(401, 403, 404, 415, 422),
    },
)
async def get_audio(
    call_id: CallId,
    request: Request,
    conn: Conn,
    cfg: Config,
    who: Operator,
    dir: Annotated[
        str,
        Query(
            pattern="^(caller|callee|stereo)$",
            description="one direction, or stereo (left: caller)",
        ),
    ] = "stereo",
) -> StreamingResponse:
    """The call's audio decoded from the pcap (G.711 µ-law/A-law), laid out by RTP timestamp
    with lost packets as silence and both directions aligned on capture time."""
    call = await load_call(conn, call_id, who.sensor_scope)
    path = call_pcap(cfg.spool_dir, call["pcap"])
    infos = [i for _, i in _stream_infos(call)]
    try:
        async with HEAVY:
            wav = await run_in_threadpool(render_wav, path, infos, dir)
    except UnsupportedCodec as exc:
        raise ApiError(415, "unsupported_codec", str(exc)) from exc
    except NoAudio as exc:
        raise ApiError(404, "no_audio", str(exc)) from exc
    except AudioError as exc:
        raise ApiError(404, "no_audio", str(exc)) from exc
    await audit(conn, request, who, "audio_download", str(call_id), {"dir": dir})
    name = pcap_name(call, f"-{dir}").removesuffix(".pcap") + ".wav"
    return StreamingResponse(
        wav.chunks(),
        media_type="audio/wav",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(wav.size),
        },
    )


@router.get(
    "/{call_id}/rtp-series", response_model=RtpSeries, responses=error_responses(401, 404, 422)
)
async def get_rtp_series(call_id: CallId, conn: Conn, cfg: Config, who: Viewer) -> RtpSeries:
    """Per stream and per second: packets, expected, lost, jitter and the largest gap."""
    call = await load_call(conn, call_id, who.sensor_scope)
    pairs = _stream_infos(call)
    if not pairs:
        return RtpSeries(call_id=call_id, streams=[])
    path = call_pcap(cfg.spool_dir, call["pcap"])
    async with HEAVY:
        packets = await run_in_threadpool(rtp_packets, path, [i.key for _, i in pairs])
    start = _naive_epoch(call["invite_ts"])
    out = []
    for s, info in pairs:
        rows = per_second(packets[info.key], info.codec, info.payload_type)
        out.append(
            StreamSeries(
                index=s["stream_idx"],
                direction=s["direction"],
                ssrc=s["ssrc"],
                codec=s["codec"],
                src=f"{s['src_ip']}:{s['src_port']}",
                dst=f"{s['dst_ip']}:{s['dst_port']}",
                seconds=[
                    SecondOut(
                        t=_utc(r.t),
                        offset_s=round(r.t - start, 3),
                        packets=r.packets,
                        expected=r.expected,
                        lost=r.lost,
                        jitter_ms_max=r.jitter_ms_max,
                        jitter_ms_mean=r.jitter_ms_mean,
                        max_delta_ms=r.max_delta_ms,
                    )
                    for r in rows
                ],
            )
        )
    return RtpSeries(call_id=call_id, streams=out)


def _naive_epoch(t: dt.datetime) -> float:
    return t.replace(tzinfo=dt.UTC).timestamp()


@router.get("/{call_id}/legs", response_model=Legs, responses=error_responses(401, 404, 422))
async def get_legs(call_id: CallId, conn: Conn, who: Viewer) -> Legs:
    """The other legs of the call (docs/DIAGNOSIS.md "Legs"), each with why it is one: grouped
    with it by its sensor (``x-cid``, ``session-id``, ``icid``, ``same-media``), or on any
    sensor the same Call-ID (``same-call-id``) or a shared correlation key."""
    call = await load_call(conn, call_id, who.sensor_scope)
    legs = await list_legs(conn, call["_detail"], who.sensor_scope)
    names = {s.id: s.name for s in await list_sensors(conn)}
    items = []
    for leg in legs:
        r = summary_row(leg.call)
        items.append(
            LegOut(
                id=r["id"],
                sensor_id=r["sensor_id"],
                sensor_name=names.get(r["sensor_id"]),
                call_id=r["call_id"],
                caller=r["caller"],
                called=r["called"],
                invite_ts=r["invite_ts"],
                final_code=r["final_code"],
                state=r["state"],
                link=leg.reason,
            )
        )
    return Legs(items=items)
