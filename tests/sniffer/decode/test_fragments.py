"""IPv4 and IPv6 fragment reassembly: order, overlaps, duplicates, bounds and timeouts."""

from .build import eth, ext, frag6, gre, ipv4, ipv6, new_decoder, sip, udp

MF = 0x2000
BIG = sip("frag@x", body=b"v=0\r\n" + b"a=x:" + b"y" * 2000 + b"\r\n")
DGRAM = udp(BIG, 5060, 5060)


def frags4(payload: bytes, size: int, ident: int = 7, proto: int = 17) -> list[bytes]:
    out = []
    for off in range(0, len(payload), size):
        more = off + size < len(payload)
        out.append(
            eth(
                ipv4(
                    payload[off : off + size],
                    proto=proto,
                    ident=ident,
                    frag=(MF if more else 0) | off >> 3,
                )
            )
        )
    return out


def frags6(payload: bytes, size: int, ident: int = 9, nh: int = 17) -> list[bytes]:
    out = []
    for off in range(0, len(payload), size):
        more = off + size < len(payload)
        out.append(
            eth(ipv6(frag6(nh, off, more, ident) + payload[off : off + size], nh=44), 0x86DD)
        )
    return out


def test_ipv4_out_of_order() -> None:
    dec, c = new_decoder()
    fr = frags4(DGRAM, 800)
    order = [2, 0, 1]
    results = [dec.decode(1, 10.0 + i, fr[k]) for i, k in enumerate(order)]
    assert results[0] == results[1] == []
    (d,) = results[2]
    assert d.payload == BIG and d.payload_offset == -1 and d.ts == 12.0
    assert d.frames == [(10.0 + i, fr[k]) for i, k in enumerate(order)]
    assert c.snapshot() == {"decode.frag_pending": 2, "decode.frag_reassembled": 1}
    assert dec.stats()["frag_sets"] == 0 and dec.stats()["frag_bytes"] == 0


def test_ipv4_reassembled_payload_is_decapsulated() -> None:
    inner = eth(ipv4(DGRAM), tags=((0x8100, 12),))
    outer_payload = gre(inner, 0x6558, key=1)
    dec, _c = new_decoder()
    out = [dec.decode(1, 0.0, f) for f in frags4(outer_payload, 1000, proto=47)]
    (d,) = out[-1]
    assert d.payload == BIG and d.encap == "gre" and d.vlan == 12 and len(d.frames) == 3


def test_ipv4_duplicate_fragment_ignored() -> None:
    dec, c = new_decoder()
    fr = frags4(DGRAM, 1024)
    dec.decode(1, 0.0, fr[0])
    dec.decode(1, 0.1, fr[0])
    (d,) = [x for f in fr[1:] for x in dec.decode(1, 0.2, f)]
    assert d.payload == BIG and len(d.frames) == len(fr) == 3
    assert c["decode.frag_duplicate"] == 1


def test_ipv4_overlap_with_different_bytes_drops_the_set() -> None:
    dec, c = new_decoder()
    fr = frags4(DGRAM, 1024)
    dec.decode(1, 0.0, fr[0])
    evil = eth(ipv4(b"Z" * 16, ident=7, frag=MF | (1016 >> 3)))
    assert dec.decode(1, 0.1, evil) == []
    assert dec.decode(1, 0.2, fr[1]) == []
    assert c["decode.frag_overlap"] == 1 and dec.stats()["frag_sets"] == 1


def test_ipv4_inconsistent_last_fragments() -> None:
    dec, c = new_decoder()
    dec.decode(1, 0.0, eth(ipv4(b"a" * 16, ident=3, frag=2)))
    dec.decode(1, 0.0, eth(ipv4(b"a" * 24, ident=3, frag=2)))
    assert c["decode.frag_inconsistent"] == 1
    dec.decode(1, 0.0, eth(ipv4(b"a" * 8, ident=4, frag=1)))
    dec.decode(1, 0.0, eth(ipv4(b"a" * 16, ident=4, frag=MF | 1)))  # beyond the known end
    assert c["decode.frag_inconsistent"] == 2


def test_bad_fragment_lengths() -> None:
    dec, c = new_decoder()
    dec.decode(1, 0.0, eth(ipv4(b"a" * 10, frag=MF)))
    dec.decode(1, 0.0, eth(ipv4(b"", frag=MF | 1)))
    dec.decode(1, 0.0, eth(ipv4(b"a" * 8, frag=0x1FFF)))
    assert c.snapshot() == {"decode.frag_bad_length": 2, "decode.frag_too_big": 1}


def test_fragment_timeout_lazy_and_expire() -> None:
    dec, c = new_decoder(frag_timeout_s=5.0)
    fr = frags4(DGRAM, 1024)
    dec.decode(1, 0.0, fr[0])
    assert dec.decode(1, 6.0, fr[1]) == []  # the old set expired: a new one starts
    assert c["decode.frag_expired"] == 1 and dec.stats()["frag_sets"] == 1
    dec.expire(10.0)
    assert dec.stats()["frag_sets"] == 1
    dec.expire(11.5)
    assert c["decode.frag_expired"] == 2 and dec.stats() == {
        "frag_sets": 0,
        "frag_bytes": 0,
        "tcp_streams": 0,
        "tcp_buffered_bytes": 0,
        "sctp_partial_messages": 0,
    }


def test_fragment_bytes_bound_evicts_oldest() -> None:
    dec, c = new_decoder(frag_max_bytes=3000)
    for ident in range(4):
        dec.decode(1, float(ident), frags4(DGRAM, 1024, ident=ident)[0])
    assert c["decode.frag_evicted"] == 2 and dec.stats()["frag_sets"] == 2
    (d,) = [x for f in frags4(DGRAM, 1024, ident=3)[1:] for x in dec.decode(1, 9.0, f)]
    assert d.payload == BIG


def test_ipv6_fragments_out_of_order_with_dest_options_inside() -> None:
    fragmentable = ext(17, 0) + DGRAM  # destination options after the Fragment header
    fr = frags6(fragmentable, 1232, nh=60)
    dec, c = new_decoder()
    assert dec.decode(1, 1.0, fr[1]) == []
    (d,) = dec.decode(1, 2.0, fr[0])
    assert d.payload == BIG and len(d.src) == 16 and d.frames == [(1.0, fr[1]), (2.0, fr[0])]
    assert c.snapshot() == {"decode.frag_pending": 1, "decode.frag_reassembled": 1}


def test_ipv6_and_ipv4_sets_are_independent() -> None:
    dec, _ = new_decoder()
    f4 = frags4(DGRAM, 1024, ident=5)
    f6 = frags6(DGRAM, 1024, ident=5)
    got = []
    for a, b in zip(f4, f6, strict=False):
        got += dec.decode(1, 0.0, a) + dec.decode(1, 0.0, b)
    assert [len(d.src) for d in got] == [4, 16]


def test_ipv6_fragment_header_in_hop_by_hop_chain() -> None:
    dec, c = new_decoder()
    payload = DGRAM
    first = eth(ipv6(ext(44, 0) + frag6(17, 0, True, 1) + payload[:1024], nh=0), 0x86DD)
    last = eth(ipv6(ext(44, 0) + frag6(17, 1024, False, 1) + payload[1024:], nh=0), 0x86DD)
    assert len(payload) > 1024
    assert dec.decode(1, 0.0, first) == []
    (d,) = dec.decode(1, 0.0, last)
    assert d.payload == BIG
    assert c["decode.frag_reassembled"] == 1
