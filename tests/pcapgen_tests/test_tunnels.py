"""Tunnel builders: GRE, ERSPAN II/III, VXLAN, TZSP, HEP3 layouts."""

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hypo import examples
from tests.pcapgen import frames as f
from tests.pcapgen import tunnels as tn

INNER = f.ethernet(f.ipv4("10.0.0.1", "10.0.0.2", 17, f.udp(5060, 5060, b"OPTIONS")))


def test_gre_fields_and_checksum() -> None:
    plain = tn.gre(b"abc", f.ETH_P_IP)
    assert plain == b"\x00\x00\x08\x00abc"
    full = tn.gre(b"abcd", f.ETH_P_TEB, key=0x01020304, seq=9, checksum=True)
    flags, proto = struct.unpack_from("!HH", full)
    assert flags == tn.GRE_CSUM | tn.GRE_KEY | tn.GRE_SEQ and proto == f.ETH_P_TEB
    assert full[8:12] == b"\x01\x02\x03\x04" and full[12:16] == struct.pack("!I", 9)
    assert f.checksum(full) == 0 and full[16:] == b"abcd"


def test_erspan2_header() -> None:
    pkt = tn.erspan2(INNER, session_id=0x155, vlan=42, seq=7, index=3)
    flags, proto, seq = struct.unpack_from("!HHI", pkt)
    assert (flags, proto, seq) == (tn.GRE_SEQ, f.ETH_P_ERSPAN2, 7)
    w0, w1 = struct.unpack_from("!II", pkt, 8)
    assert w0 >> 28 == 1 and (w0 >> 16) & 0xFFF == 42 and w0 & 0x3FF == 0x155
    assert w1 == 3 and pkt[16:] == INNER


def test_erspan3_header() -> None:
    pkt = tn.erspan3(INNER, session_id=5, vlan=7, seq=1, timestamp=0xDEADBEEF, sgt=0x1234, hw_id=9)
    assert struct.unpack_from("!H", pkt, 2)[0] == f.ETH_P_ERSPAN3
    w0, ts, w2 = struct.unpack_from("!III", pkt, 8)
    assert w0 >> 28 == 2 and (w0 >> 16) & 0xFFF == 7 and w0 & 0x3FF == 5
    assert ts == 0xDEADBEEF and w2 >> 16 == 0x1234 and (w2 >> 4) & 0x3F == 9 and w2 & 1 == 0
    assert pkt[20:] == INNER


def test_vxlan_and_tzsp() -> None:
    assert tn.vxlan(INNER, 0xABCDEF)[:8] == bytes.fromhex("08000000abcdef00")
    assert tn.tzsp(INNER)[:5] == bytes.fromhex("0100000101") and tn.tzsp(INNER)[5:] == INNER


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(("src", "dst"), [("10.0.0.1", "10.0.0.2"), ("2001:db8::1", "2001:db8::2")])
def test_hep3_round_trip(compress: bool, src: str, dst: str) -> None:
    payload = b"INVITE sip:bob@example.com SIP/2.0\r\n\r\n" * 3
    pkt = tn.hep3(payload, src, 5060, dst, 5080, 1_700_000_000.123456, capture_id=99,
                  compress=compress, auth_key="k", correlation_id="cid")  # fmt: skip
    assert pkt[:4] == b"HEP3" and struct.unpack_from("!H", pkt, 4)[0] == len(pkt)
    c = tn.parse_hep3(pkt)
    v4 = ":" not in src
    assert c[tn.HEP_CHUNK_IP_FAMILY] == bytes([2 if v4 else 10])
    assert c[tn.HEP_CHUNK_IPV4_SRC if v4 else tn.HEP_CHUNK_IPV6_SRC] == f.pack_ip(src)
    assert c[tn.HEP_CHUNK_IPV4_DST if v4 else tn.HEP_CHUNK_IPV6_DST] == f.pack_ip(dst)
    assert struct.unpack("!H", c[tn.HEP_CHUNK_DST_PORT]) == (5080,)
    assert struct.unpack("!I", c[tn.HEP_CHUNK_TS_SEC]) == (1_700_000_000,)
    assert struct.unpack("!I", c[tn.HEP_CHUNK_TS_USEC]) == (123456,)
    assert c[tn.HEP_CHUNK_PROTO_TYPE] == b"\x01" and c[tn.HEP_CHUNK_CAPTURE_ID] == struct.pack(
        "!I", 99
    )
    assert c[tn.HEP_CHUNK_PAYLOAD] == payload and c[tn.HEP_CHUNK_CORRELATION_ID] == b"cid"
    assert (tn.HEP_CHUNK_COMPRESSED in c) == compress
    if compress:
        assert zlib.decompress(c[tn.HEP_CHUNK_COMPRESSED]) == payload


@given(st.binary(max_size=64))
@settings(max_examples=examples(300))
def test_parse_hep3_rejects_garbage_with_value_error(data: bytes) -> None:
    try:
        tn.parse_hep3(data)
    except ValueError:
        pass
    except zlib.error:
        pytest.fail("zlib error leaked")
