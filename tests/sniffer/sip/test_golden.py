"""Every SIP message of the golden captures parses, and agrees with tshark 4.0.

Payloads are pulled out with dpkt (independent of sniffer.decode): plain UDP over Ethernet,
LINKTYPE_RAW and GRE-TEB mirroring; HEP3 chunks (bare-LF SIP, zlib); the SIP-I INVITE carried in
two SCTP DATA chunks. tshark figures: tests/data/golden/tshark_sip.json (per Call-ID) and
tests/data/sip/tshark_sdp.json (per SDP-carrying SIP frame, see tests/data/sip/README.md).
"""

import json
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dpkt
import pytest

from sniffer.sip.framing import looks_like_sip
from sniffer.sip.message import SipMessage, extract_sdp
from sniffer.sip.sdp import SessionDescription

DATA = Path(__file__).resolve().parents[2] / "data"
GOLDEN = DATA / "golden"
TSHARK_SIP: dict[str, list[dict[str, Any]]] = json.loads((GOLDEN / "tshark_sip.json").read_text())
TSHARK_SDP: dict[str, list[dict[str, Any]]] = json.loads(
    (DATA / "sip" / "tshark_sdp.json").read_text()
)

UDP_FILES = [
    "sip_call_rtp_g711_wireshark_sample.pcap",
    "sip_register_auth_cancel_aaa.pcap",
    "sip_ipv6_udp_call.pcap",
    "sip_register_invite_rawip_linktype.pcap",
    "sip_rtp_g711u_call_register_voipshark.pcap",
    "sip_t38_fax_megaco_g711a.pcap",
    "sip_invite_scan_icmp_quoted.pcap",  # the ICMP-quoted copies are not top-level UDP
    "sip_gre_teb_mirror.pcapng",
]
HEP_FILES = ["hep3_sip_rtcp_log_hepgen.pcap", "hep3_zlib_register_sll.pcapng"]
HEP_SIP = 1
HEP_CHUNK_PROTO_TYPE, HEP_CHUNK_PAYLOAD, HEP_CHUNK_ZPAYLOAD = 11, 15, 16


def _frames(name: str) -> Iterator[tuple[int, object]]:
    """(1-based frame number, network-layer dpkt object or None) of a capture."""
    with open(GOLDEN / name, "rb") as fh:
        reader: Any = dpkt.pcapng.Reader(fh) if name.endswith(".pcapng") else dpkt.pcap.Reader(fh)
        link = reader.datalink()
        for number, (_ts, buf) in enumerate(reader, 1):
            if link == dpkt.pcap.DLT_EN10MB:
                net = dpkt.ethernet.Ethernet(buf).data
            elif link == dpkt.pcap.DLT_LINUX_SLL:
                net = dpkt.sll.SLL(buf).data
            else:  # LINKTYPE_RAW
                net = dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
            yield number, net


def _transport(net: object) -> object:
    if not isinstance(net, dpkt.ip.IP | dpkt.ip6.IP6):
        return None
    t = net.data
    if isinstance(t, dpkt.gre.GRE):  # GRE TEB (0x6558): a mirrored Ethernet frame
        inner = dpkt.ethernet.Ethernet(bytes(t.data)).data
        t = inner.data if isinstance(inner, dpkt.ip.IP) else None
    return t


def udp_sip_payloads(name: str) -> list[tuple[int, bytes]]:
    out = []
    for number, net in _frames(name):
        udp = _transport(net)
        if isinstance(udp, dpkt.udp.UDP) and looks_like_sip(bytes(udp.data)):
            out.append((number, bytes(udp.data)))
    return out


def hep_sip_payloads(name: str) -> list[bytes]:
    out = []
    for _number, net in _frames(name):
        data = bytes(_transport(net).data)  # type: ignore[attr-defined]
        assert data[:4] == b"HEP3"
        total = struct.unpack_from("!H", data, 4)[0]
        chunks: dict[int, bytes] = {}
        off = 6
        while off + 6 <= total:
            _vendor, ctype, clen = struct.unpack_from("!HHH", data, off)
            chunks[ctype] = data[off + 6 : off + clen]
            off += clen
        if chunks[HEP_CHUNK_PROTO_TYPE] != bytes([HEP_SIP]):
            continue
        payload = chunks.get(HEP_CHUNK_PAYLOAD)
        out.append(payload if payload is not None else zlib.decompress(chunks[HEP_CHUNK_ZPAYLOAD]))
    return out


def _per_call_id(messages: list[SipMessage]) -> dict[str, dict[str, Any]]:
    calls: dict[str, dict[str, Any]] = {}
    for m in messages:
        c = calls.setdefault(m.call_id, {"methods": Counter(), "responses": Counter(), "n": 0})
        c["n"] += 1
        if m.is_request:
            c["methods"][m.method] += 1
        else:
            c["responses"][str(m.status)] += 1
    return calls


def _assert_matches_tshark(name: str, messages: list[SipMessage]) -> None:
    got = _per_call_id(messages)
    expected = {row["call_id"]: row for row in TSHARK_SIP[name]}
    assert set(got) == set(expected)
    for call_id, row in expected.items():
        assert dict(got[call_id]["methods"]) == row["methods"], call_id
        assert dict(got[call_id]["responses"]) == row["responses"], call_id
        assert got[call_id]["n"] == row["messages"], call_id


@pytest.mark.parametrize("name", UDP_FILES)
def test_udp_captures_match_tshark_sip(name: str) -> None:
    messages = [SipMessage.parse(p) for _n, p in udp_sip_payloads(name)]
    assert messages
    _assert_matches_tshark(name, messages)
    for m in messages:
        assert m.from_.host or m.from_.scheme == "tel"
        assert m.via_count >= 1
        assert not m.body_truncated
        if m.cseq_method != "ACK" and m.via_branch is not None:
            assert m.via_branch


def _sdp_summary(s: SessionDescription) -> dict[str, Any]:
    return {
        "origin_session": s.origin_session,
        "origin_version": s.origin_version,
        "connections": {c for c in [s.connection, *(m.connection for m in s.media)] if c},
        "media": [[m.media, m.port, m.proto] for m in s.media],
        "rtpmaps": [
            f"{pt} {r.encoding}/{r.clock_rate}" + (f"/{r.channels}" if r.channels != 1 else "")
            for m in s.media
            for pt, r in m.rtpmap.items()
        ],
    }


@pytest.mark.parametrize("name", sorted(TSHARK_SDP))
def test_sdp_bodies_match_tshark(name: str) -> None:
    ours = []
    for number, payload in udp_sip_payloads(name):
        m = SipMessage.parse(payload)
        sdp = extract_sdp(m)
        if sdp is not None:
            ours.append((number, m, sdp))
    rows = TSHARK_SDP[name]
    # A body starting with "v=0" without Content-Type is SDP to us, not to tshark: only the
    # 200 OK (frame 3) of the IPv6 call omits its Content-Type.
    no_ct = [n for n, m, _s in ours if m.content_type is None]
    extra = [3] if name == "sip_ipv6_udp_call.pcap" else []
    assert no_ct == extra
    ours = [o for o in ours if o[0] not in extra]
    assert [n for n, _m, _s in ours] == [r["frame"] for r in rows]
    for (_n, m, sdp), row in zip(ours, rows, strict=True):
        assert m.call_id == row["call_id"]
        assert f"{m.cseq_num} {m.cseq_method}" == row["cseq"]
        summary = _sdp_summary(sdp)
        assert summary["origin_session"] == row["origin_session"]
        assert summary["origin_version"] == row["origin_version"]
        assert summary["connections"] == set(row["connections"])
        assert summary["media"] == row["media"]
        mono = [r[:-2] if r.endswith("/1") else r for r in row["rtpmaps"]]  # "/1" = default
        assert sorted(summary["rtpmaps"]) == sorted(mono)


def test_g711_sample_answer_sdp() -> None:
    """The 200 OK of the answered call announces 200.57.7.204:8000 (tshark: sdp/signalled)."""
    payloads = dict(udp_sip_payloads("sip_call_rtp_g711_wireshark_sample.pcap"))
    m = SipMessage.parse(payloads[498])
    assert (m.status, m.call_id, m.user_agent) == (200, "12013223@200.57.7.195", m.header("server"))
    sdp = extract_sdp(m)
    assert sdp is not None
    audio = sdp.media[0]
    assert (audio.connection, audio.port, audio.payload_types[0]) == ("200.57.7.204", 8000, 8)
    assert (audio.encoding(8), audio.clock_rate(8)) == ("pcma", 8000)
    assert audio.encoding(101) == "telephone-event"


@pytest.mark.parametrize("name", HEP_FILES)
def test_hep3_payloads_match_decoder_figures(name: str) -> None:
    payloads = hep_sip_payloads(name)
    messages = [SipMessage.parse(p) for p in payloads]
    _assert_matches_tshark(name, messages)
    if name.startswith("hep3_sip_rtcp"):
        assert all(not p.split(b"\n", 1)[0].endswith(b"\r") for p in payloads)  # bare LF
        invite = messages[0]
        assert (invite.method, invite.user_agent, invite.from_.tag) == (
            "INVITE",
            "HEPGEN-UAC",
            "2628881569",
        )
        sdp = extract_sdp(invite)
        assert sdp is not None
        assert sdp.connection == "127.126.124.123"
        assert sdp.media[0].payload_types == [18, 0, 8, 101]
        assert sdp.media[0].fmtp == {101: "0-15"}
        publish = messages[-1]
        assert (publish.method, publish.content_type) == ("PUBLISH", "application/vq-rtcpxr")
        assert publish.body.startswith(b"VQIntervalReport\nLocalMetrics:")


def test_sctp_sip_i_invite_multipart() -> None:
    """SIP-I INVITE (multipart/mixed SDP + ISUP) split over two SCTP DATA chunks."""
    datas = []
    for _number, net in _frames("sip_sctp_sll_403.pcap"):
        sctp = net.data  # type: ignore[attr-defined]
        assert isinstance(sctp, dpkt.sctp.SCTP)
        datas.append(bytes(sctp.chunks[0].data)[12:])  # skip TSN, stream id/seq, PPID
    messages = [SipMessage.parse(datas[0] + datas[1])] + [SipMessage.parse(d) for d in datas[2:]]
    _assert_matches_tshark("sip_sctp_sll_403.pcap", messages)
    invite = messages[0]
    assert invite.content_type == "multipart/mixed"
    assert (len(invite.body), invite.body_truncated) == (657, False)
    assert invite.header("request-disposition") == "no-fork"
    pai = invite.asserted_identity
    assert pai is not None and pai.user == "9171969136"
    sdp = extract_sdp(invite)
    assert sdp is not None
    audio = sdp.media[0]
    assert (audio.connection, audio.port, audio.payload_types) == (
        "10.249.30.145",
        38060,
        [8, 13, 96],
    )
    assert audio.encoding(96) == "telephone-event"
    assert messages[2].reason == "The reason is nocallee"
