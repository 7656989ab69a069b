"""Calls: one call with its streams, its SIP flow, RTP series, legs."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import UtcTime


class RtcpOut(BaseModel):
    sr_count: int
    rr_count: int
    fraction_lost_max: float | None
    cumulative_lost: int | None
    jitter_max_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    xr_mos_lq: float | None
    xr_mos_cq: float | None
    xr_r_factor: int | None
    xr_loss_rate: float | None
    xr_discard_rate: float | None


class StreamOut(BaseModel):
    index: int
    direction: Literal["caller", "callee"] | None
    src_ip: str | None
    src_port: int
    dst_ip: str | None
    dst_port: int
    ssrc: int
    payload_type: int
    codec: str
    packets: int
    lost: int
    loss_pct: float
    duplicates: int
    out_of_order: int
    max_delta_ms: float | None = Field(description="null: not measured")
    max_jitter_ms: float | None = Field(description="null: not computed (docs/QUALITY.md)")
    mean_jitter_ms: float | None
    mos: float | None
    first_ts: UtcTime
    last_ts: UtcTime
    telephone_events: int
    playout_discard_pct: float | None = Field(
        default=None, description="share discarded by the playout buffer in the MOS"
    )
    rtcp: RtcpOut | None


class DtmfOut(BaseModel):
    digit: str
    ts: UtcTime | None


class ProblemOut(BaseModel):
    code: str = Field(examples=["one_way_audio"])
    detail: str = Field(examples=["callee->caller: 0 RTP packets in 31.2 s after answer"])


class LegKeysOut(BaseModel):
    cids: list[str] = Field(description="correlation header values (X-CID...)")
    session_ids: list[str] = Field(description="RFC 7989 Session-ID uuids")
    icids: list[str] = Field(description="P-Charging-Vector icid-values")
    media: list[str] = Field(description="SDP media endpoints, ip:port")
    ssrcs: list[int]


class LegLinkOut(BaseModel):
    uid: str
    call_id: str
    reason: Literal["x-cid", "session-id", "icid", "same-media"]


class CallDetail(BaseModel):
    id: int = Field(description="the cdr row id used in URLs", examples=[1042])
    sensor_id: int
    sensor_name: str | None
    uid: str
    call_id: str
    caller: str
    caller_domain: str
    caller_name: str
    called: str
    called_domain: str
    caller_ip: str | None
    caller_port: int
    called_ip: str | None
    called_port: int
    vlan: int | None
    invite_ts: UtcTime
    ringing_ts: UtcTime | None
    answer_ts: UtcTime | None
    end_ts: UtcTime
    duration_s: float
    connect_duration_s: float
    pdd_ms: float | None = Field(
        description="post-dial delay: INVITE to the first 18x, else to the final response"
    )
    final_code: int | None
    final_reason: str | None
    hangup_by: Literal["caller", "callee"] | None
    state: str
    codecs: list[str]
    dtmf: str
    caller_ua: str | None
    called_ua: str | None
    bye_code: int | None
    challenged: bool
    sip_messages: int
    retransmissions: int
    transport: str
    flags: list[str]
    problems: list[ProblemOut] = Field(description="why the call was bad (docs/DIAGNOSIS.md)")
    leg_group: str | None = Field(description="uid of the first leg of its group on its sensor")
    leg_keys: LegKeysOut
    leg_links: list[LegLinkOut] = Field(description="the legs its sensor linked it to")
    has_pcap: bool
    pcap_name: str | None = Field(description="a file name for the call's pcap download")
    streams: list[StreamOut]
    dtmf_digits: list[DtmfOut]


class SipMessageOut(BaseModel):
    index: int
    ts: UtcTime
    offset_ms: float = Field(description="time since the first message of the flow")
    delta_ms: float = Field(description="time since the previous message")
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str
    method: str | None = Field(description="request method; null for a response")
    status: int | None
    reason: str | None
    cseq: int
    cseq_method: str
    call_id: str
    from_tag: str
    to_tag: str
    via_branch: str
    retransmission: bool
    summary: str
    user_agent: str | None
    sdp: str | None = Field(description="media summary of an SDP body")
    leg_id: int | None = Field(description="the call row (cdr id) this message came from")
    raw: str | None = Field(default=None, description="the message text (with ?raw=1)")


class Host(BaseModel):
    ip: str
    ports: list[int]
    alias: str | None
    user_agents: list[str]


class SipFlow(BaseModel):
    call_ids: list[str]
    hosts: list[Host] = Field(description="endpoints in order of first appearance (ladder columns)")
    items: list[SipMessageOut]
    truncated: bool


class SecondOut(BaseModel):
    t: UtcTime
    offset_s: float = Field(description="seconds since the call's INVITE")
    packets: int
    expected: int
    lost: int
    jitter_ms_max: float
    jitter_ms_mean: float
    max_delta_ms: float


class StreamSeries(BaseModel):
    index: int
    direction: str | None
    ssrc: int
    codec: str
    src: str
    dst: str
    seconds: list[SecondOut]


class RtpSeries(BaseModel):
    call_id: int
    streams: list[StreamSeries]


class LegOut(BaseModel):
    id: int
    sensor_id: int
    sensor_name: str | None
    call_id: str
    caller: str
    called: str
    invite_ts: UtcTime
    final_code: int | None
    state: str
    link: Literal["x-cid", "session-id", "icid", "same-media", "same-call-id"] = Field(
        description='why it is a leg of the call (docs/DIAGNOSIS.md "Legs")'
    )


class Legs(BaseModel):
    items: list[LegOut]
    next_cursor: str | None = None


def stream_out(s: dict[str, Any]) -> StreamOut:
    rtcp = None
    if s.get("rtcp_sr_count") is not None:
        rtcp = RtcpOut(**{k[5:]: s[k] for k in s if k.startswith("rtcp_")})
    base = {k: s[k] for k in StreamOut.model_fields if k in s and k not in ("index", "rtcp")}
    return StreamOut(index=s["stream_idx"], rtcp=rtcp, **base)
