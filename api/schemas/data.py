"""Registrations, SIP MESSAGEs, unbound RTP streams, sensors, live calls."""

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import UtcTime


class RegistrationOut(BaseModel):
    sensor_id: int
    aor: str
    user: str
    domain: str
    contact_ip: str
    src_ip: str
    src_port: int
    user_agent: str | None
    call_id: str
    result_code: int | None = Field(description="of the latest REGISTER; null: no answer")
    expires: int | None
    challenged: bool
    attempts: int
    registered: bool = Field(description="the binding has not expired")
    registered_until: UtcTime | None
    last_success_ts: UtcTime | None
    last_ts: UtcTime


class RegistrationList(BaseModel):
    items: list[RegistrationOut]
    next_cursor: str | None


class RegistrationEventOut(BaseModel):
    sensor_id: int
    ts: UtcTime
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


class RegistrationEventList(BaseModel):
    items: list[RegistrationEventOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    sensor_id: int
    ts: UtcTime
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    body: str
    truncated: bool
    result_code: int | None
    call_id: str
    src_ip: str
    dst_ip: str


class MessageList(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class UnboundStreamOut(BaseModel):
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
    first_ts: UtcTime
    last_ts: UtcTime


class UnboundStreamList(BaseModel):
    items: list[UnboundStreamOut]
    next_cursor: str | None


class SensorOut(BaseModel):
    id: int
    name: str
    host: str
    version: str
    kind: str = Field(description="`sensor`, or `import` for imported captures")
    status: str = Field(description="`ok`, `stale` (no heartbeat lately), `never` or `import`")
    heartbeat_age_s: float | None
    first_seen: UtcTime | None
    last_heartbeat: UtcTime | None
    packets_per_s: float
    kernel_drops: int
    queue_drops: int
    active_calls: int
    parse_errors: int
    journal_backlog: int
    counters: dict[str, int]


class SensorList(BaseModel):
    items: list[SensorOut]
    next_cursor: str | None = None


class LiveCallOut(BaseModel):
    sensor_id: int
    call_id: str
    caller: str
    called: str
    start: UtcTime
    state: str
    duration_s: float = Field(description="so far, at the snapshot")
    updated_at: UtcTime
    stale: bool = Field(description="the sensor's snapshot is old (no heartbeat lately)")


class LiveCallList(BaseModel):
    items: list[LiveCallOut]
    next_cursor: str | None = None
