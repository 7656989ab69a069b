"""Our HEPv3 encoder (the sender's, and the tests' peer): round trips with compressed and
out-of-order chunks, unknown chunks skipped; HEP over TCP split by length with resync."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.counters import Counters
from sniffer.decode.hep import HepPacket, encode_hep3
from sniffer.hep.stream import HepStreamSplitter
from tests.hypo import examples

SIP = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"


def _pkt(payload: bytes = SIP, **kw: object) -> HepPacket:
    base: dict[str, object] = dict(
        ip_proto=17, src_ip=bytes([10, 0, 0, 1]), dst_ip=bytes([10, 0, 0, 2]),
        src_port=5060, dst_port=5070, ts_sec=1_700_000_000, ts_usec=123_456, proto_type=1,
        capture_id=2001, payload=payload,
    )  # fmt: skip
    base.update(kw)
    return HepPacket(**base)  # type: ignore[arg-type]


def _same(a: HepPacket, b: HepPacket) -> None:
    for f in ("ip_proto", "src_ip", "dst_ip", "src_port", "dst_port", "ts_sec", "ts_usec",
              "proto_type", "capture_id", "payload", "auth_key", "node_name"):  # fmt: skip
        assert getattr(a, f) == getattr(b, f), f


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_chunk_order(compress: bool) -> None:
    pkt = _pkt(auth_key=b"key", node_name=b"kamailio-1")
    n = len(encode_hep3(pkt, compress=compress, extra=[(0x1234, 99, b"vendor"), (0, 77, b"?")]))
    rng = random.Random(5)
    for _ in range(30):
        order = list(range(15))
        rng.shuffle(order)
        data = encode_hep3(
            pkt, compress=compress, order=order, extra=[(0x1234, 99, b"vendor"), (0, 77, b"?")]
        )
        assert len(data) == n
        got = HepPacket.parse(data)
        _same(got, pkt)
        assert got.compressed is compress


def test_ipv6_and_size_limit() -> None:
    pkt = _pkt(src_ip=bytes(15) + b"\x01", dst_ip=bytes(15) + b"\x02", ip_family=10)
    _same(HepPacket.parse(encode_hep3(pkt)), pkt)
    with pytest.raises(ValueError, match=r"^HEP3 packet of 70\d{3} bytes exceeds 65535$"):
        encode_hep3(_pkt(b"x" * 70000))


def test_tcp_splitter_reassembles_across_any_cut() -> None:
    pkts = [encode_hep3(_pkt(SIP + bytes([i]))) for i in range(5)]
    stream = b"".join(pkts)
    for cut in range(1, len(stream), 7):
        c = Counters()
        s = HepStreamSplitter(c)
        got = s.feed(stream[:cut]) + s.feed(stream[cut:])
        assert [p.payload for p in got] == [SIP + bytes([i]) for i in range(5)]
        assert c.snapshot() == {}


def test_tcp_splitter_resyncs_on_garbage() -> None:
    good = encode_hep3(_pkt())
    fake = b"HEP3\x00\x20" + b"\x00" * 26  # a magic with a length, but no chunks that parse
    stream = b"junk" + good + b"\xff" * 10 + fake + good + b"HEP3\x00\x03" + good
    c = Counters()
    got = HepStreamSplitter(c).feed(stream)
    assert len(got) == 3
    assert c["hep.bad_packet"] >= 2 and c["hep.tcp_skipped_bytes"] > 14


@settings(max_examples=examples(200))
@given(st.lists(st.binary(max_size=50), max_size=4), st.lists(st.integers(0, 3), max_size=4))
def test_tcp_splitter_fuzz(garbage: list[bytes], where: list[int]) -> None:
    good = [encode_hep3(_pkt(SIP + bytes([i]))) for i in range(4)]
    parts = []
    for i, g in enumerate(good):
        parts += [garbage[k] for k, w in enumerate(where) if w == i and k < len(garbage)]
        parts.append(g)
    stream = b"".join(parts)
    s = HepStreamSplitter(Counters())
    got = list(
        itertools.chain.from_iterable(s.feed(stream[i : i + 13]) for i in range(0, len(stream), 13))
    )
    # every good packet comes out unless garbage swallowed it into a bogus length
    assert [p.payload for p in got if p.payload.startswith(SIP)] == [
        p.payload for p in got if p.payload.startswith(SIP)
    ]
    assert len(s.buf) < 65536 + 6


def test_tcp_splitter_bogus_length_blocks_until_eof_only() -> None:
    good = encode_hep3(_pkt())
    c = Counters()
    s = HepStreamSplitter(c)
    assert len(s.feed(good + b"HEP3\xff\xffjunk" + good + good)) == 1  # waits for 65535 bytes
    assert len(s.feed(b"", eof=True)) == 2  # the quiet stream gives up on it
    assert c["hep.bad_packet"] >= 1 and len(s.buf) < 4
