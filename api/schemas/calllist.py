"""The calls list (search results) and its export."""

from pydantic import BaseModel, Field

from api.schemas.common import UtcTime


class Quality(BaseModel):
    mos: float | None = Field(description="lowest MOS of the direction's streams")
    loss_pct: float = Field(description="highest loss % of the direction's streams")
    jitter_ms: float = Field(description="highest jitter of the direction's streams")


class CallItem(BaseModel):
    id: int = Field(description="cdr id: /calls/{id}")
    sensor_id: int
    call_id: str
    caller: str
    caller_name: str
    caller_domain: str
    called: str
    called_domain: str
    caller_ip: str
    caller_port: int
    called_ip: str
    called_port: int
    vlan: int | None
    invite_ts: UtcTime
    ringing_ts: UtcTime | None
    answer_ts: UtcTime | None
    end_ts: UtcTime
    duration_s: float
    connect_duration_s: float
    final_code: int | None
    final_reason: str | None
    hangup_by: str | None
    state: str
    codecs: list[str]
    flags: list[str]
    transport: str
    caller_ua: str | None
    called_ua: str | None
    pdd_ms: int | None = Field(description="post-dial delay, ms")
    problems: list[str] = Field(description="problem codes (docs/DIAGNOSIS.md)")
    leg_group: str | None
    has_pcap: bool
    caller_quality: Quality | None = Field(description="streams sent by the caller")
    callee_quality: Quality | None = Field(description="streams sent by the callee")


class CallList(BaseModel):
    items: list[CallItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
