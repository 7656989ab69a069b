"""Property tests: ``Decoder.decode`` never raises and never hits an internal error, for random
bytes at every layer (random frames, and random bytes behind valid outer headers)."""

from struct import pack

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.decode.linktypes import SUPPORTED_LINKTYPES
from tests.hypo import examples

from .build import ACK, SYN, eth, frag6, gre, ipv4, ipv6, new_decoder, sip, tcp, udp

LINKTYPES = sorted(SUPPORTED_LINKTYPES | {147})


def wrappers(data: bytes) -> list[bytes]:
    """Ethernet frames putting ``data`` behind every decoded layer."""
    return [
        eth(data),
        eth(data, 0x86DD),
        eth(data, 0x8100),
        eth(data, 0x8847),
        eth(data, 0x8864),
        eth(ipv4(data, proto=47)),
        eth(ipv4(gre(data, 0x6558, key=1), proto=47)),
        eth(ipv4(gre(data, 0x88BE, seq=1), proto=47)),
        eth(ipv4(gre(data, 0x22EB, seq=1), proto=47)),
        eth(ipv4(pack("!HHHH", 0x3081, 0x880B, len(data), 1) + b"\0" * 8 + data, proto=47)),
        eth(ipv4(data, proto=4)),
        eth(ipv4(data, proto=41)),
        eth(ipv4(data, proto=6)),
        eth(ipv4(data, proto=132)),
        eth(ipv4(b"\0" * 12 + data, proto=132)),
        eth(ipv4(data, proto=17)),
        eth(ipv4(udp(data, 1, 4789))),
        eth(ipv4(udp(data, 1, 9060))),
        eth(ipv4(udp(b"HEP3" + pack("!H", len(data) + 6) + data, 1, 9060))),
        eth(ipv4(udp(data, 1, 37008))),
        eth(ipv4(udp(b"\x01\x00\x00\x01" + data, 1, 37008))),
        eth(ipv4(tcp(data, 1, 1, 5060))),
        eth(ipv4(data, frag=0x2000)),
        eth(ipv6(data, nh=0), 0x86DD),
        eth(ipv6(data, nh=44), 0x86DD),
        eth(ipv6(frag6(17, 0, True, 1) + data, nh=44), 0x86DD),
    ]


@settings(max_examples=examples(400))
@given(st.sampled_from(LINKTYPES), st.binary(max_size=200))
def test_random_frames_never_raise(linktype: int, data: bytes) -> None:
    dec, c = new_decoder()
    dec.decode(linktype, 0.0, data)
    assert c["decode.internal_error"] == 0


@settings(max_examples=examples(300))
@given(st.binary(max_size=160))
def test_random_bytes_behind_valid_headers(data: bytes) -> None:
    dec, c = new_decoder()
    for i, frame in enumerate(wrappers(data)):
        for d in dec.decode(1, float(i), frame):
            assert d.frames and (d.payload_offset < 0 or d.frames[-1][1].find(d.payload) >= 0)
    dec.expire(1e9)
    assert c["decode.internal_error"] == 0
    assert dec.stats()["frag_sets"] == dec.stats()["tcp_streams"] == 0


PIECES = [
    sip("a@x"),
    sip("b@x", "BYE"),
    b"\r\n",
    b"garbage\n",
    b"Content-Length: 99999999\r\n\r\n",
    b"\x16\x03\x01",
]
segment = st.tuples(
    st.integers(0, 3000),
    st.sampled_from([ACK, ACK | 0x08, SYN, ACK | 0x01, 0x04]),
    st.lists(st.sampled_from(PIECES), max_size=3).map(b"".join),
    st.integers(0, 400),
    st.integers(0, 1),
)


@settings(max_examples=examples(300))
@given(st.lists(segment, max_size=25))
def test_random_tcp_segment_sequences(segments: list[tuple[int, int, bytes, int, int]]) -> None:
    dec, c = new_decoder(tcp_max_ooo_segments=4, tcp_max_buffer_bytes=2000)
    for i, (seq, flags, payload, cut, rev) in enumerate(segments):
        data = payload[cut % (len(payload) + 1) :]
        sport, dport = (5060, 40000) if rev else (40000, 5060)
        for d in dec.decode(1, float(i), eth(ipv4(tcp(data, seq, sport, dport, flags), proto=6))):
            assert d.transport == 6 and d.payload.startswith((b"INVITE", b"BYE"))
    assert c["decode.internal_error"] == 0


@settings(max_examples=examples(300))
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans(), st.integers(0, 40)), max_size=12))
def test_random_fragment_sets(frags: list[tuple[int, bool, int]]) -> None:
    dec, c = new_decoder(frag_max_bytes=600)
    body = bytes(range(256)) * 2
    for i, (off8, more, size) in enumerate(frags):
        piece = body[off8 * 8 : off8 * 8 + size]
        dec.decode(1, float(i), eth(ipv4(piece, frag=(0x2000 if more else 0) | off8)))
        dec.decode(1, float(i), eth(ipv6(frag6(17, off8 * 8, more, 5) + piece, nh=44), 0x86DD))
    assert c["decode.internal_error"] == 0
    assert dec.stats()["frag_bytes"] <= 600
