"""The API's own parsers on hostile input: only their declared errors, never a crash; round
trips where there is one."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from api.media.g711 import ALAW, ULAW, alaw_to_pcm16, ulaw_to_pcm16
from api.media.rtp import RtpParseError, parse_rtp
from api.pcap.export import build_frame
from api.pcap.layers import LINKTYPE_ETHERNET, LINKTYPE_RAW, Datagram, Decapsulator
from api.pcap.sipmsg import SipParseError, parse
from api.pcap.sipstream import SipExtractor
from api.redact import Redactor, mask_number
from tests.hypo import examples


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=300), st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276, 12345]))
def test_decapsulator_never_raises(frame: bytes, linktype: int) -> None:
    dec = Decapsulator(linktype)
    for d in dec.decode(0, 1.0, frame):
        assert d.transport in ("udp", "tcp", "sctp")


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=400))
def test_sip_parse_raises_only_its_error(data: bytes) -> None:
    try:
        msg = parse(data)
    except SipParseError:
        return
    assert (msg.method is None) != (msg.status is None)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=8), st.integers(0, 2**32 - 1))
def test_tcp_and_hep_streams_never_raise(chunks: list[bytes], seq: int) -> None:
    ext = SipExtractor()
    for i, c in enumerate(chunks):
        ext.feed(
            Datagram(
                float(i),
                "10.0.0.1",
                "10.0.0.2",
                5060,
                5060,
                "tcp",
                c,
                (i,),
                None,
                (seq + 17 * i) & 0xFFFFFFFF,
                0x18,
            )
        )
        ext.feed(Datagram(float(i), "10.0.0.1", "10.0.0.2", 9060, 9060, "udp", b"HEP3" + c, (i,)))


@given(st.binary(max_size=64))
def test_rtp_parse(data: bytes) -> None:
    try:
        p = parse_rtp(data, 0.0)
    except RtpParseError:
        return
    assert len(p.payload) <= len(data) - 12


def test_rtp_header_fields() -> None:
    pkt = struct.pack("!BBHII", 0x80, 0x88, 513, 160000, 0xCAFEBABE) + b"\xd5" * 160
    p = parse_rtp(pkt, 5.0)
    assert (p.seq, p.timestamp, p.ssrc, p.payload_type, p.marker) == (
        513,
        160000,
        0xCAFEBABE,
        8,
        True,
    )
    assert parse_rtp(pkt[:12] + b"", 0).payload == b""
    try:
        parse_rtp(b"\x40" + pkt[1:], 0)
    except RtpParseError as exc:
        assert str(exc) == "RTP version 1, expected 2"


def test_g711_tables_are_itu_values() -> None:
    assert ULAW[0xFF] == 0 and ULAW[0x00] == -32124 and ULAW[0x80] == 32124
    assert ALAW[0xD5] == 8 and ALAW[0x55] == -8 and ALAW[0xAA] == 32256
    pcm = ulaw_to_pcm16(bytes([0x00, 0xFF]))
    assert struct.unpack("<2h", pcm) == (-32124, 0)
    assert struct.unpack("<h", alaw_to_pcm16(b"\xaa")) == (32256,)


@given(st.binary(max_size=100), st.sampled_from(["udp", "tcp", "sctp"]))
def test_built_frames_decode_back(payload: bytes, transport: str) -> None:
    d = Datagram(
        1.0,
        "192.0.2.1",
        "2001:db8::9",
        5060,
        5080,
        transport,
        payload,
        (0,),
        tcp_seq=7,
        tcp_flags=0x18,
    )
    for src, dst in (("192.0.2.1", "192.0.2.77"), ("2001:db8::1", "2001:db8::9")):
        out = Decapsulator(LINKTYPE_RAW).decode(0, 1.0, build_frame(d, src, dst, payload))
        if transport == "sctp" and not payload:
            assert out == []
            continue
        assert [(x.src, x.dst, x.sport, x.dport, x.transport, x.payload) for x in out] == [
            (src, dst, 5060, 5080, transport, payload)
        ]


@given(st.text(alphabet="+0123456789", min_size=1, max_size=20), st.integers(0, 8))
def test_masking_keeps_length_and_tail(number: str, keep: int) -> None:
    masked = mask_number(number, keep)
    assert len(masked) == len(number)
    digits = [c for c in number if c.isdigit()]
    assert [c for c in masked if c.isdigit()] == digits[len(digits) - min(keep, len(digits)) :]


@given(st.ip_addresses())
def test_redacted_addresses_keep_their_text_length(addr: object) -> None:
    text = str(addr)
    if text == "::":  # the unspecified address has no other two-character spelling
        return
    r = Redactor([text])
    stand_in = r.ip_map[text]
    assert len(stand_in) == len(text) and stand_in != text
    assert r.data(f"c=IN IP4 {text}\r\n".encode()) == f"c=IN IP4 {stand_in}\r\n".encode()


def test_ethernet_vlan_udp_frame() -> None:
    ip = build_frame(
        Datagram(0, "10.0.0.1", "10.0.0.2", 1, 2, "udp", b"SIP/2.0 200 OK\r\n\r\n", (0,)),
        "10.0.0.1",
        "10.0.0.2",
        b"SIP/2.0 200 OK\r\n\r\n",
    )
    frame = b"\x00" * 12 + b"\x81\x00\x00\x64" + b"\x08\x00" + ip
    [d] = Decapsulator(LINKTYPE_ETHERNET).decode(0, 0.0, frame)
    assert d.vlan == 100 and d.payload.startswith(b"SIP/2.0 200")
