"""Typed filters and results of the read queries (what the REST API validates and returns).

Times are epoch seconds (UTC, microsecond precision), as in the record contract (docs/CDR.md).
Lists are pages, newest first for calls, with an opaque cursor for the next page (keyset paging:
stable while rows are added, and as fast on page 1000 as on page 1).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from db.records import CallRecord, StreamRecord

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
"""A page never holds more rows than this, whatever the caller asks."""

_EPOCH = dt.datetime(1970, 1, 1)
_CURSOR = re.compile(r"(\d{1,19})\.(\d{1,20})")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallFilter(Model):
    """Which calls :func:`db.read.list_calls` returns. Every given criterion must hold."""

    since: float | None = Field(None, description="INVITE at or after (epoch seconds)")
    until: float | None = Field(None, description="INVITE before (epoch seconds)")
    caller: str | None = Field(None, description="caller number, exactly")
    caller_prefix: str | None = Field(None, min_length=1, description="caller number starts with")
    called: str | None = Field(None, description="called number, exactly")
    called_prefix: str | None = Field(None, min_length=1, description="called number starts with")
    sensor_id: int | None = Field(None, ge=1, le=65535)
    call_id: str | None = Field(None, description="SIP Call-ID, exactly")
    final_code: int | None = Field(None, ge=100, le=699, description="final SIP response code")
    limit: int = Field(DEFAULT_LIMIT, ge=1, description=f"page size (at most {MAX_LIMIT})")
    after: str | None = Field(None, description="the `next` cursor of the previous page")
    # -- the API's further criteria (issue 9) --
    sensor_ids: list[int] | None = Field(
        None, description="only these sensors (a user's or token's scope); [] matches nothing"
    )
    caller_like: str | None = Field(None, min_length=1, description="caller, `*` = any text")
    called_like: str | None = Field(None, min_length=1, description="called, `*` = any text")
    party: str | None = Field(None, description="caller or called number, exactly")
    party_prefix: str | None = Field(None, min_length=1, description="either number starts with")
    party_like: str | None = Field(None, min_length=1, description="either number, `*` = any text")
    ip: str | None = Field(None, description="caller or called IP address")
    code_class: int | None = Field(None, ge=1, le=6, description="final code class: 4 for 4xx")
    states: list[str] | None = Field(None, description="call states (docs/CDR.md)")
    outcome: Literal["answered", "unanswered", "failed", "cancelled"] | None = None
    min_duration_s: float | None = Field(None, ge=0)
    max_duration_s: float | None = Field(None, ge=0)
    codec: str | None = Field(None, min_length=1, description="an agreed codec (e.g. PCMA)")
    mos_below: float | None = Field(None, description="a stream's MOS is below this")
    loss_above: float | None = Field(None, description="a stream's loss % is above this")
    vlan: int | None = Field(None, ge=0, le=4095)
    flag: str | None = Field(None, min_length=1, description="a call flag (e.g. hold)")
    problems: list[str] | None = Field(
        None, description="calls with any of these problem codes (docs/DIAGNOSIS.md)"
    )


class CallSummary(Model):
    """One call as a list shows it (its streams: :func:`db.read.get_call`)."""

    id: int
    sensor_id: int
    uid: str
    call_id: str
    caller: str
    caller_domain: str
    caller_name: str
    called: str
    called_domain: str
    caller_ip: str
    caller_port: int
    called_ip: str
    called_port: int
    invite_ts: float
    answer_ts: float | None
    end_ts: float
    duration_s: float
    connect_duration_s: float
    final_code: int | None
    final_reason: str | None
    hangup_by: str | None
    state: str
    codecs: list[str]
    flags: list[str]
    transport: str
    pcap: str | None
    vlan: int | None = None
    ringing_ts: float | None = None
    caller_ua: str | None = None
    called_ua: str | None = None
    problems: list[str] = Field(default_factory=list, description="problem codes")
    pdd_ms: int | None = None
    leg_group: str | None = None


class CallPage(Model):
    calls: list[CallSummary]
    next: str | None = Field(description="cursor of the following page; None on the last")


class DtmfDigit(Model):
    seq: int
    digit: str
    ts: float | None


class CallDetail(Model):
    """One stored call: its database identity, the record as written (streams included) and
    its DTMF digits one by one."""

    id: int
    sensor_id: int
    record: CallRecord
    dtmf: list[DtmfDigit]

    @property
    def streams(self) -> list[StreamRecord]:
        return self.record.streams


class RegistrationFilter(Model):
    """Which address-of-record states :func:`db.read.list_registrations` returns."""

    sensor_id: int | None = Field(None, ge=1, le=65535)
    user: str | None = Field(None, description="user part, exactly")
    user_prefix: str | None = Field(None, min_length=1, description="user part starts with")
    domain: str | None = Field(None, description="domain, exactly (case-insensitive)")
    registered_only: bool = Field(False, description="only AORs whose binding has not expired")
    sensor_ids: list[int] | None = Field(None, description="only these sensors (scope)")
    failed_only: bool = Field(False, description="only AORs whose latest REGISTER failed")
    limit: int = Field(DEFAULT_LIMIT, ge=1, description=f"page size (at most {MAX_LIMIT})")
    after: str | None = Field(None, description="the `next` cursor of the previous page")


class RegistrationState(Model):
    """The latest REGISTER outcome of one AOR seen by one sensor."""

    sensor_id: int
    aor: str
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
    registered_until: float | None
    last_success_ts: float | None
    last_ts: float


class RegistrationPage(Model):
    registrations: list[RegistrationState]
    next: str | None


class SensorInfo(Model):
    """A sensor's row: its last heartbeat and counters."""

    id: int
    name: str
    host: str
    version: str
    first_seen: float | None
    last_heartbeat: float | None
    packets_per_s: float
    kernel_drops: int
    queue_drops: int
    active_calls: int
    parse_errors: int
    journal_backlog: int
    counters: dict[str, int]


class BadCursor(ValueError):
    """A paging cursor that this version did not hand out."""


def encode_cursor(invite: dt.datetime, ident: int) -> str:
    """``invite`` (naive UTC, as stored) and the row id -> an opaque, exact cursor."""
    delta = invite - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}.{ident}"


def decode_cursor(text: str) -> tuple[dt.datetime, int]:
    m = _CURSOR.fullmatch(text)
    if m is None:
        raise BadCursor(f"not a paging cursor: {text[:40]!r}")
    try:
        invite = _EPOCH + dt.timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise BadCursor(f"not a paging cursor: {text[:40]!r}") from None
    return invite, int(m.group(2))
