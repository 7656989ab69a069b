"""Property test of the whole analyzer, frames in, records out: a complete SIP exchange (an
answered call with SDP, RTP, RTCP, DTMF, a re-INVITE and BYE; a challenged REGISTER; a
MESSAGE; an OPTIONS) in which any address, port and header field, and the frames' own
addresses and ports, may hold arbitrary bytes. No exception may escape, the guard must never
fire (an internal error is a bug even when it is survived), and every record must be
well-formed (JSON, types, ranges, IPs that parse)."""

from __future__ import annotations

import json
import struct
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.records import (
    CallRecord,
    MessageRecord,
    Record,
    RegistrationRecord,
)
from sniffer.analyzer import Analyzer
from sniffer.faults import internal_errors
from sniffer.spool.spool import CallPcapSpool
from tests.hypo import examples
from tests.pcapgen.frames import LINKTYPE_ETHERNET, ethernet, pack_ip
from tests.sniffer.record_checks import check_record

T0 = 1_700_000_000.0

DEFAULTS: dict[str, bytes] = {
    "ruri_user": b"bob",
    "ruri_host": b"10.0.0.2",
    "via_host": b"10.0.0.1",
    "via_port": b"5060",
    "branch": b"z9hG4bK776asdhds",
    "from_display": b"Alice",
    "from_user": b"alice",
    "from_host": b"example.com",
    "from_tag": b"1928301774",
    "to_user": b"bob",
    "to_host": b"example.com",
    "to_tag": b"a6c85cf",
    "call_id": b"a84b4c76e66710@pc33",
    "cseq": b"314159",
    "contact_host": b"10.0.0.1",
    "contact_port": b"5060",
    "contact_expires": b"3600",
    "expires": b"3600",
    "user_agent": b"fuzz/1.0",
    "content_type": b"application/sdp",
    "status_code": b"200",
    "reason": b"OK",
    "o_addr": b"10.0.0.1",
    "c_addr": b"10.0.0.1",
    "c_addr_answer": b"10.0.0.2",
    "c_family": b"IP4",
    "m_port": b"40000",
    "m_port_answer": b"50000",
    "m_proto": b"RTP/AVP",
    "payload_types": b"0 8 101",
    "rtpmap_pt": b"101",
    "rtpmap_enc": b"telephone-event",
    "rtpmap_clock": b"8000",
    "rtcp_port": b"40001",
    "ptime": b"20",
    "direction": b"sendrecv",
    "info_body": b"Signal=5\r\nDuration=160\r\n",
    "message_body": b"hello",
    "content_length": b"",
}
FIELDS = sorted(DEFAULTS)
NASTY = [
    b"", b"\0", b"10.0.0.1\0", b"[::1\0]", b"::1\0", b"\xff\xfe\xfd", b"\xed\xa0\x80", b"\r\n",
    b"\r\nX: y", b"\n\n", b"-1", b"0", b"65536", b"99999999999999999999", b"1e400", b"nan",
    b"::", b"::ffff:10.0.0.2", b"0.0.0.0", b"[", b"]", b'"', b"<", b">", b";", b",", b"%00",
    b"a" * 300, b"\t", b" ", b"127", b"IP6", b"IP4 10.0.0.2", b"10.0.0.2 extra", b"5060;x",
    b"sip:", b"@", b"tag=", b"\x80",
]  # fmt: skip


def _port(value: bytes, default: int) -> int:
    """The UDP port the media is really sent to when the SDP port is what we wrote."""
    try:
        n = int(value)
    except ValueError:
        return default
    return n if 0 < n < 65536 else default


def _sdp(f: dict[str, bytes], addr: bytes, port: bytes) -> bytes:
    return (
        b"v=0\r\no=- 1 1 IN " + f["c_family"] + b" " + f["o_addr"] + b"\r\ns=-\r\n"
        b"c=IN " + f["c_family"] + b" " + addr + b"\r\nt=0 0\r\n"
        b"m=audio " + port + b" " + f["m_proto"] + b" " + f["payload_types"] + b"\r\n"
        b"a=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:" + f["rtpmap_pt"] + b" " + f["rtpmap_enc"] + b"/" + f["rtpmap_clock"] + b"\r\n"
        b"a=fmtp:" + f["rtpmap_pt"] + b" 0-16\r\n"
        b"a=rtcp:" + f["rtcp_port"] + b"\r\n"
        b"a=ptime:" + f["ptime"] + b"\r\n"
        b"a=" + f["direction"] + b"\r\n"
    )


def _sip(
    f: dict[str, bytes],
    start: bytes,
    cseq_method: bytes,
    *,
    to_tag: bool = False,
    body: bytes = b"",
    ctype: bytes | None = None,
    extra: bytes = b"",
    call_id: bytes | None = None,
    cseq: bytes | None = None,
) -> bytes:
    length = f["content_length"] or str(len(body)).encode()
    to = b"<sip:" + f["to_user"] + b"@" + f["to_host"] + b">"
    if to_tag:
        to += b";tag=" + f["to_tag"]
    head = (
        start + b"\r\n"
        b"Via: SIP/2.0/UDP " + f["via_host"] + b":" + f["via_port"] + b";branch="
        + f["branch"] + cseq_method + b"\r\n"
        b'From: "' + f["from_display"] + b'" <sip:' + f["from_user"] + b"@" + f["from_host"]
        + b">;tag=" + f["from_tag"] + b"\r\n"
        b"To: " + to + b"\r\n"
        b"Call-ID: " + (call_id or f["call_id"]) + b"\r\n"
        b"CSeq: " + (cseq or f["cseq"]) + b" " + cseq_method + b"\r\n"
        b"Contact: <sip:" + f["from_user"] + b"@" + f["contact_host"] + b":"
        + f["contact_port"] + b">;expires=" + f["contact_expires"] + b"\r\n"
        b"User-Agent: " + f["user_agent"] + b"\r\n"
        + extra
    )  # fmt: skip
    if body:
        head += b"Content-Type: " + (ctype or f["content_type"]) + b"\r\n"
    return head + b"Content-Length: " + length + b"\r\n\r\n" + body


def _response(f: dict[str, bytes], code: bytes, method: bytes, **kw: Any) -> bytes:
    return _sip(f, b"SIP/2.0 " + code + b" " + f["reason"], method, **kw)


def _rtp(seq: int, pt: int, ssrc: int, body: bytes = b"\xff" * 160) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, ssrc) + body


def _rtcp_rr(reporter: int, about: int) -> bytes:
    block = struct.pack("!IIIIII", about, 0x01000002, 1008, 20, 0, 0)
    return struct.pack("!BBHI", 0x81, 201, 7, reporter) + block


class _Net:
    """Frames between the two parties (their IPs and SIP ports may be anything)."""

    def __init__(self, a: bytes, b: bytes, sip_a: int, sip_b: int) -> None:
        self.a, self.b, self.sip_a, self.sip_b = a, b, sip_a, sip_b
        self.frames: list[tuple[float, bytes]] = []
        self.t = T0

    def udp(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> None:
        self.t += 0.02
        dgram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(dgram), 0, 0, 64, 17, 0, src, dst)
        self.frames.append((self.t, ethernet(ip + dgram)))

    def a_to_b(self, payload: bytes) -> None:
        self.udp(self.a, self.b, self.sip_a, self.sip_b, payload)

    def b_to_a(self, payload: bytes) -> None:
        self.udp(self.b, self.a, self.sip_b, self.sip_a, payload)


def _exchange(f: dict[str, bytes], net: _Net) -> None:
    ruri = b"sip:" + f["ruri_user"] + b"@" + f["ruri_host"]
    offer = _sdp(f, f["c_addr"], f["m_port"])
    answer = _sdp(f, f["c_addr_answer"], f["m_port_answer"])
    a_media, b_media = _port(f["m_port"], 40000), _port(f["m_port_answer"], 50000)
    # an answered call with early media, RTP both ways, DTMF, RTCP, a re-INVITE, INFO, BYE
    net.a_to_b(_sip(f, b"INVITE " + ruri + b" SIP/2.0", b"INVITE", body=offer))
    net.b_to_a(_response(f, b"100", b"INVITE"))
    net.b_to_a(_response(f, b"183", b"INVITE", to_tag=True, body=answer))
    net.b_to_a(_response(f, f["status_code"], b"INVITE", to_tag=True, body=answer))
    net.a_to_b(_sip(f, b"ACK " + ruri + b" SIP/2.0", b"ACK", to_tag=True))
    for i in range(8):
        net.udp(net.a, net.b, a_media, b_media, _rtp(i, 0, 0x1111))
        net.udp(net.b, net.a, b_media, a_media, _rtp(1000 + i, 0, 0x2222))
    ev = struct.pack("!BBH", 5, 0x8A, 800)
    net.udp(net.a, net.b, a_media, b_media, _rtp(8, 101, 0x1111, ev))
    net.udp(net.b, net.a, b_media + 1, a_media + 1, _rtcp_rr(0x2222, 0x1111))
    net.udp(net.a, net.b, a_media, b_media, _rtp(9, 96, 0x3333))  # new SSRC, unknown PT
    net.a_to_b(_sip(f, b"INFO " + ruri + b" SIP/2.0", b"INFO", to_tag=True,
                    body=f["info_body"], ctype=b"application/dtmf-relay"))  # fmt: skip
    net.a_to_b(_sip(f, b"INVITE " + ruri + b" SIP/2.0", b"INVITE", to_tag=True, body=offer))
    net.b_to_a(_response(f, f["status_code"], b"INVITE", to_tag=True, body=answer))
    net.a_to_b(_sip(f, b"BYE " + ruri + b" SIP/2.0", b"BYE", to_tag=True))
    net.b_to_a(_response(f, b"200", b"BYE", to_tag=True))
    # a challenged REGISTER, a MESSAGE, an OPTIONS; a cancelled call
    reg = b"REGISTER sip:" + f["to_host"] + b" SIP/2.0"
    rid = f["call_id"] + b"-reg"
    expires = b"Expires: " + f["expires"] + b"\r\n"
    net.a_to_b(_sip(f, reg, b"REGISTER", call_id=rid, extra=expires))
    net.b_to_a(_response(f, b"401", b"REGISTER", call_id=rid, to_tag=True))
    again = f["cseq"] + b"1"  # a higher CSeq when the CSeq is a number
    net.a_to_b(_sip(f, reg, b"REGISTER", call_id=rid, cseq=again,
                    extra=expires + b"Authorization: x\r\n"))  # fmt: skip
    net.b_to_a(_response(f, b"200", b"REGISTER", call_id=rid, cseq=again, to_tag=True,
                         extra=expires))  # fmt: skip
    mid = f["call_id"] + b"-msg"
    net.a_to_b(_sip(f, b"MESSAGE " + ruri + b" SIP/2.0", b"MESSAGE", call_id=mid,
                    body=f["message_body"], ctype=b"text/plain"))  # fmt: skip
    net.b_to_a(_response(f, b"202", b"MESSAGE", call_id=mid, to_tag=True))
    net.a_to_b(_sip(f, b"OPTIONS " + ruri + b" SIP/2.0", b"OPTIONS", call_id=f["call_id"] + b"o"))
    cid = f["call_id"] + b"-c"
    net.a_to_b(_sip(f, b"INVITE " + ruri + b" SIP/2.0", b"INVITE", call_id=cid, body=offer))
    net.a_to_b(_sip(f, b"CANCEL " + ruri + b" SIP/2.0", b"CANCEL", call_id=cid))
    net.b_to_a(_response(f, b"487", b"INVITE", call_id=cid, to_tag=True))


# -- the property -------------------------------------------------------------------------

_ANY_BYTES = st.one_of(st.binary(max_size=40), st.sampled_from(NASTY))
_IP = st.one_of(st.sampled_from([b"\x0a\0\0\x01", b"\0\0\0\0", b"\xff\xff\xff\xff"]),
                st.binary(min_size=4, max_size=4))  # fmt: skip
_UDP_PORT = st.one_of(st.sampled_from([5060, 0, 1, 40000, 50000, 65535]),
                      st.integers(0, 65535))  # fmt: skip


@st.composite
def exchanges(draw: st.DrawFn) -> tuple[dict[str, bytes], tuple[bytes, bytes, int, int]]:
    broken = draw(st.sets(st.sampled_from(FIELDS), min_size=1, max_size=len(FIELDS)))
    fields = dict(DEFAULTS)
    for name in sorted(broken):
        fields[name] = draw(_ANY_BYTES)
    if draw(st.booleans()):
        wire = (pack_ip("10.0.0.1"), pack_ip("10.0.0.2"), 5060, 5060)
    else:
        wire = (draw(_IP), draw(_IP), draw(_UDP_PORT), draw(_UDP_PORT))
    return fields, wire


@pytest.mark.slow  # 500 whole exchanges through the analyzer
@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exchanges(), st.booleans(), st.integers(0, 60))
def test_arbitrary_bytes_in_any_field_never_break_the_analyzer(
    exchange: tuple[dict[str, bytes], tuple[bytes, bytes, int, int]], spool: bool, crash: int
) -> None:
    """... also across a crash after ``crash`` frames (0: none): the calls' state then goes
    through JSON into a fresh analyzer, which must take every one of them."""
    fields, (a, b, sip_a, sip_b) = exchange
    net = _Net(a, b, sip_a, sip_b)
    _exchange(fields, net)
    net.frames.append((net.t + 400.0, b"\0" * 60))  # past every timeout: everything is emitted
    records: list[Record] = []
    with (
        tempfile.TemporaryDirectory(prefix="callsift-fuzz-") as tmp,
        CallPcapSpool(tmp, LINKTYPE_ETHERNET) as pcaps,
    ):
        analyzer = Analyzer(LINKTYPE_ETHERNET, records.append, spool=pcaps if spool else None)
        frames = net.frames
        if crash:
            analyzer.feed(frames[:crash])
            states = [json.loads(state) for state in analyzer.call_states()]
            _no_bug(analyzer)
            analyzer = Analyzer(LINKTYPE_ETHERNET, records.append, spool=pcaps if spool else None)
            assert analyzer.adopt(states) == len(states)
            frames = frames[crash:]
        analyzer.feed(frames)
        analyzer.finish()
    _no_bug(analyzer)
    assert analyzer.tracker.calls == {} and analyzer.flowtable.flows == {}
    for rec in records:
        check_record(rec)


def _no_bug(analyzer: Analyzer) -> None:
    counters = analyzer.counters.snapshot()
    assert internal_errors(counters) == {}
    assert counters.get("decode.internal_error", 0) == 0
    assert counters.get("calls.recovery_bad_state", 0) == 0


def test_the_unbroken_exchange_gives_the_expected_records() -> None:
    """The property above starts from a valid exchange: check that it is one."""
    net = _Net(pack_ip("10.0.0.1"), pack_ip("10.0.0.2"), 5060, 5060)
    _exchange(dict(DEFAULTS), net)
    records: list[Record] = []
    analyzer = Analyzer(LINKTYPE_ETHERNET, records.append)
    analyzer.feed(net.frames)
    analyzer.finish()
    calls = {r.call_id: r for r in records if isinstance(r, CallRecord)}
    call = calls["a84b4c76e66710@pc33"]
    assert (call.state, call.final_code, call.dtmf) == ("completed", 200, "55")
    assert call.codecs == ["PCMU", "PCMA"]
    assert sorted((s.ssrc, s.packets) for s in call.streams) == [
        (0x1111, 9), (0x2222, 8), (0x3333, 1)
    ]  # fmt: skip
    rtcp = {s.ssrc: s.rtcp for s in call.streams}[0x1111]
    assert rtcp is not None and rtcp.rr_count == 1
    assert calls["a84b4c76e66710@pc33-c"].state == "cancelled"
    [reg] = [r for r in records if isinstance(r, RegistrationRecord)]
    assert (reg.result_code, reg.challenged, reg.contact_ip, reg.expires) == (
        200,
        True,
        "10.0.0.1",
        3600,
    )
    [msg] = [r for r in records if isinstance(r, MessageRecord)]
    assert (msg.body, msg.result_code) == ("hello", 202)
    for rec in records:
        check_record(rec)
