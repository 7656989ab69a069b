"""Statistics over a time range."""

from pydantic import BaseModel, Field

from api.schemas.common import UtcTime


class Totals(BaseModel):
    calls: int
    answered: int
    failed: int
    cancelled: int
    asr_pct: float | None = Field(description="answered / calls")
    ner_pct: float | None = Field(
        description="calls that reached the called party (answered, busy, no answer, declined, "
        "cancelled) / calls"
    )
    acd_s: float | None = Field(description="mean talk time of answered calls")
    pdd_ms_avg: float | None
    pdd_ms_p50: float | None = Field(description="from a 100 ms histogram")
    pdd_ms_p95: float | None
    peak_concurrent: int
    peak_interval: UtcTime | None


class Interval(BaseModel):
    start: UtcTime
    calls: int
    answered: int
    failed: int
    cancelled: int
    asr_pct: float | None
    acd_s: float | None
    pdd_ms_avg: float | None
    peak_concurrent: int


class Bucket(BaseModel):
    low: float = Field(description="lower edge (inclusive for MOS, exclusive for loss)")
    high: float | None = Field(
        description="upper edge (exclusive for MOS, inclusive for loss); null: open"
    )
    count: int


class CodeCount(BaseModel):
    code: int | None = Field(description="final SIP code; null: none (unanswered)")
    calls: int


class Failing(BaseModel):
    called: str
    failed: int
    calls: int
    top_code: int | None


class UaCount(BaseModel):
    user_agent: str
    calls: int


class Stats(BaseModel):
    since: UtcTime
    until: UtcTime
    interval_s: int
    totals: Totals
    intervals: list[Interval]
    pdd_histogram: list[Bucket]
    mos_distribution: list[Bucket] = Field(description="calls per MOS range of their worst stream")
    loss_distribution: list[Bucket] = Field(
        description="calls per loss % range of their worst stream"
    )
    sip_codes: list[CodeCount]
    top_failing: list[Failing]
    user_agents: list[UaCount]
