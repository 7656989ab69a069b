"""Checks that a record is well-formed: JSON, types, ranges, IPs that parse, known states
(the analyzer's property test, test_analyzer_fuzz.py)."""

from __future__ import annotations

import json
import math

from db.records import (
    CALL_STATES,
    CallRecord,
    MessageRecord,
    Record,
    RegistrationRecord,
    StreamRecord,
    record_to_dict,
)
from sniffer.netaddr import text_to_ip


def _ip(text: str) -> None:
    assert text_to_ip(text) is not None, f"not an IP: {text!r}"


def _port_ok(n: int) -> None:
    assert isinstance(n, int) and 0 <= n <= 65535


def _time(x: float | None, *, nullable: bool = False) -> None:
    if x is None:
        assert nullable
        return
    assert isinstance(x, float) and math.isfinite(x)


def _text(s: str | None, *, nullable: bool = False) -> None:
    if s is None:
        assert nullable
        return
    assert isinstance(s, str)
    s.encode("utf-8")  # no lone surrogate: it must go to MySQL and JSON as UTF-8


def _code(c: int | None) -> None:
    assert c is None or (isinstance(c, int) and 100 <= c <= 699)


def check_stream(s: StreamRecord) -> None:
    _ip(s.src_ip)
    _ip(s.dst_ip)
    _port_ok(s.src_port)
    _port_ok(s.dst_port)
    assert 0 <= s.ssrc < 2**32 and 0 <= s.payload_type < 128
    _text(s.codec)
    assert s.packets >= 1 and s.duplicates >= 0 and s.out_of_order >= 0
    assert math.isfinite(s.loss_pct)  # negative when duplicates exceed losses
    for x in (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms, s.playout_discard_pct):
        assert x is None or (math.isfinite(x) and x >= 0)  # null: not measured
    assert s.mos is None or 1.0 <= s.mos <= 5.0
    _time(s.first_ts)
    _time(s.last_ts)
    assert s.first_ts <= s.last_ts
    assert s.direction in (None, "caller", "callee")


def check_call(c: CallRecord) -> None:
    for t in (c.call_id, c.uid, c.caller, c.caller_domain, c.caller_name, c.called,
              c.called_domain, c.dtmf, c.transport):  # fmt: skip
        _text(t)
    for t in (c.final_reason, c.caller_ua, c.called_ua, c.pcap):
        _text(t, nullable=True)
    assert c.call_id and c.state in CALL_STATES
    for ip in (c.caller_ip, c.called_ip):
        if ip:
            _ip(ip)
    _port_ok(c.caller_port)
    _port_ok(c.called_port)
    _time(c.invite_ts)
    _time(c.end_ts)
    _time(c.ringing_ts, nullable=True)
    _time(c.answer_ts, nullable=True)
    assert c.end_ts >= c.invite_ts and c.duration_s >= 0 and c.connect_duration_s >= 0
    _code(c.final_code)
    _code(c.bye_code)
    assert c.hangup_by in (None, "caller", "callee")
    assert c.sip_messages >= 1 and c.retransmissions >= 0
    assert c.flags == sorted(set(c.flags))
    assert all(isinstance(x, str) for x in [*c.codecs, *c.flags])
    for s in c.streams:
        check_stream(s)


def check_record(rec: Record) -> None:
    json.dumps(record_to_dict(rec), allow_nan=False, ensure_ascii=False).encode("utf-8")
    if isinstance(rec, CallRecord):
        check_call(rec)
    elif isinstance(rec, StreamRecord):
        check_stream(rec)
    elif isinstance(rec, RegistrationRecord):
        _ip(rec.src_ip)
        _port_ok(rec.src_port)
        _time(rec.ts)
        _code(rec.result_code)
        assert rec.expires is None or rec.expires >= 0
        assert rec.attempts >= 1
        for t in (rec.user, rec.domain, rec.call_id):
            _text(t)
        _text(rec.contact_ip, nullable=True)
        _text(rec.user_agent, nullable=True)
    else:
        assert isinstance(rec, MessageRecord)
        _ip(rec.src_ip)
        _ip(rec.dst_ip)
        _time(rec.ts)
        _code(rec.result_code)
        for t in (rec.from_, rec.to, rec.body, rec.call_id):
            _text(t)
