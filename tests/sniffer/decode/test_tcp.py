"""SIP over TCP reassembly: segmentation, ordering, retransmissions, resync and bounds."""

import pytest

from sniffer.decode.datagram import Datagram
from sniffer.decode.decoder import Decoder

from .build import A4, ACK, B4, FIN, PSH, RST, SYN, eth, ipv4, new_decoder, sip, tcp

MSG1 = sip("one@x", body=b"v=0\r\n" * 40)
MSG2 = sip("two@x", "BYE", cseq=2)
MSG3 = sip("three@x", "OPTIONS", cseq=3)


class Peer:
    """One side of a connection building frames with a running sequence number."""

    def __init__(self, src: bytes, sport: int, dst: bytes, dport: int, isn: int = 1000) -> None:
        self.src, self.sport, self.dst, self.dport, self.seq = src, sport, dst, dport, isn

    def frame(self, payload: bytes = b"", flags: int = ACK | PSH, seq: int | None = None) -> bytes:
        s = self.seq if seq is None else seq
        f = eth(
            ipv4(
                tcp(payload, s, self.sport, self.dport, flags), proto=6, src=self.src, dst=self.dst
            )
        )
        if seq is None:
            self.seq = (self.seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return f


def pair(sport: int = 40000, dport: int = 5060, isn: int = 1000) -> tuple[Peer, Peer]:
    return Peer(A4, sport, B4, dport, isn), Peer(B4, dport, A4, sport, 7000)


def feed(dec: Decoder, frames: list[bytes], t0: float = 1.0) -> list[Datagram]:
    out: list[Datagram] = []
    for i, f in enumerate(frames):
        out += dec.decode(1, t0 + i, f)
    return out


def test_handshake_and_one_message_per_segment() -> None:
    dec, c = new_decoder()
    cl, sv = pair()
    frames = [
        cl.frame(flags=SYN),
        sv.frame(flags=SYN | ACK),
        cl.frame(flags=ACK),
        cl.frame(MSG1),
        sv.frame(MSG2),
    ]
    d1, d2 = feed(dec, frames)
    assert (d1.transport, d1.src, d1.sport, d1.dst, d1.dport, d1.payload) == (
        6,
        A4,
        40000,
        B4,
        5060,
        MSG1,
    )
    assert d1.frames == [(4.0, frames[3])] and d1.ts == 4.0 and d1.payload_offset == 54
    assert (d2.src, d2.sport, d2.payload, d2.payload_offset) == (B4, 5060, MSG2, 54)
    assert c.snapshot() == {} and dec.stats()["tcp_streams"] == 1


def test_several_messages_in_one_segment() -> None:
    dec, _ = new_decoder()
    cl, _sv = pair()
    f = cl.frame(MSG1 + b"\r\n\r\n" + MSG2 + MSG3)
    out = feed(dec, [f])
    assert [d.payload for d in out] == [MSG1, MSG2, MSG3]
    assert all(d.frames == [(1.0, f)] for d in out)
    assert f[out[1].payload_offset :].startswith(MSG2)


def test_message_across_segments_and_shared_segment() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    data = MSG1 + MSG2
    cut1, cut2 = 100, len(MSG1) + 10
    frames = [cl.frame(data[:cut1]), cl.frame(data[cut1:cut2]), cl.frame(data[cut2:])]
    out = [dec.decode(1, 1.0 + i, f) for i, f in enumerate(frames)]
    assert out[0] == []
    (m1,) = out[1]
    (m2,) = out[2]
    assert m1.payload == MSG1 and m1.frames == [(1.0, frames[0]), (2.0, frames[1])] and m1.ts == 2.0
    assert m1.payload_offset == -1
    assert m2.payload == MSG2 and m2.frames == [(2.0, frames[1]), (3.0, frames[2])]
    assert c.snapshot() == {}


def test_out_of_order_segments() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    parts = [MSG1[:50], MSG1[50:200], MSG1[200:]]
    seqs = []
    for p in parts:
        seqs.append(cl.seq)
        cl.seq += len(p)
    f = [cl.frame(p, seq=s) for p, s in zip(parts, seqs, strict=True)]
    assert dec.decode(1, 1.0, f[0]) == []
    assert dec.decode(1, 2.0, f[2]) == []
    (d,) = dec.decode(1, 3.0, f[1])
    assert d.payload == MSG1 and d.frames == [(1.0, f[0]), (2.0, f[2]), (3.0, f[1])]
    assert c.snapshot() == {"decode.tcp_out_of_order": 1}


def test_retransmissions_are_not_doubled() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    s0 = cl.seq
    a = cl.frame(MSG1[:300])
    b = cl.frame(MSG1[300:] + MSG2[:20])
    rest = cl.frame(MSG2[20:])
    full_retrans = cl.frame(MSG1[:300], seq=s0)
    partial = cl.frame(MSG1[290:] + MSG2[:30], seq=s0 + 290)  # overlaps, brings 10 new bytes
    out = feed(dec, [a, full_retrans, b, partial, rest])  # rest then overlaps those 10 bytes
    assert [d.payload for d in out] == [MSG1, MSG2]
    assert c.snapshot() == {"decode.tcp_retransmission": 3}
    assert out[0].frames == [(1.0, a), (3.0, b)]
    assert out[1].frames == [(3.0, b), (4.0, partial), (5.0, rest)]


def test_mid_stream_join_resyncs_on_next_start_line() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    out = feed(dec, [cl.frame(MSG1[120:]), cl.frame(MSG2), cl.frame(MSG3)])
    assert [d.payload for d in out] == [MSG2, MSG3]
    assert c.snapshot() == {}


def test_mid_stream_on_unknown_port_found_by_content() -> None:
    dec, c = new_decoder()
    cl, sv = pair(40000, 6060)
    assert feed(dec, [cl.frame(MSG1[120:])]) == []
    assert c.snapshot() == {"decode.tcp_not_sip": 1}
    out = feed(dec, [cl.frame(MSG2), sv.frame(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")])
    assert [d.payload[:7] for d in out] == [b"BYE sip", b"SIP/2.0"]


def test_non_sip_streams_counted_not_tracked() -> None:
    dec, c = new_decoder()
    cl, _sv = pair(40000, 80)
    feed(
        dec,
        [cl.frame(flags=SYN), cl.frame(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), cl.frame(flags=ACK)],
    )
    assert c.snapshot() == {"decode.tcp_not_sip": 3} and dec.stats()["tcp_streams"] == 0


def test_framing_error_resyncs() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    bad = b"INVITE sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"
    out = feed(dec, [cl.frame(bad + b"garbage\r\n" + MSG2)])
    assert [d.payload for d in out] == [MSG2]
    assert c.snapshot() == {"decode.tcp_framing_error": 1}


def test_junk_between_messages_resyncs() -> None:
    dec, c = new_decoder()
    cl, _sv = pair()
    out = feed(dec, [cl.frame(MSG2 + b"HELLO WORLD\r\nmore junk\r\n" + MSG3)])
    assert [d.payload for d in out] == [MSG2, MSG3]
    assert c.snapshot() == {"decode.tcp_resync": 1}


def test_incomplete_start_line_waits() -> None:
    dec, _ = new_decoder()
    cl, _sv = pair()
    assert feed(dec, [cl.frame(MSG2[:5])]) == []
    (d,) = feed(dec, [cl.frame(MSG2[5:])])
    assert d.payload == MSG2


def test_crlf_keepalives() -> None:
    dec, c = new_decoder()
    cl, sv = pair()
    out = feed(dec, [cl.frame(b"\r\n\r\n"), sv.frame(b"\r\n"), cl.frame(MSG2)])
    assert [d.payload for d in out] == [MSG2] and c.snapshot() == {}


def test_gap_skipped_after_too_many_out_of_order_segments() -> None:
    dec, c = new_decoder(tcp_max_ooo_segments=2)
    cl, _sv = pair()
    dec.decode(1, 0.0, cl.frame(flags=SYN))
    cl.frame(MSG1[:100])  # lost segment: advances the sequence only
    later = [cl.frame(MSG1[100:]), cl.frame(MSG2), cl.frame(MSG3)]
    out = feed(dec, later)
    assert [d.payload for d in out] == [MSG2, MSG3]
    assert c.snapshot() == {"decode.tcp_out_of_order": 2, "decode.tcp_gap": 1}


def test_sequence_wraparound() -> None:
    dec, c = new_decoder()
    cl, _sv = pair(isn=0xFFFFFF00)
    out = feed(dec, [cl.frame(flags=SYN), cl.frame(MSG1[:300]), cl.frame(MSG1[300:])])
    assert [d.payload for d in out] == [MSG1] and c.snapshot() == {}


def test_rst_and_fin_close_streams() -> None:
    dec, c = new_decoder()
    cl, sv = pair()
    feed(dec, [cl.frame(flags=SYN), cl.frame(MSG1[:50])])
    assert dec.stats()["tcp_streams"] == 1 and dec.stats()["tcp_buffered_bytes"] == 50
    feed(dec, [sv.frame(flags=RST)])
    assert dec.stats()["tcp_streams"] == 0 and c["decode.tcp_incomplete_message"] == 1
    cl, sv = pair(40001)
    out = feed(dec, [cl.frame(MSG2, flags=ACK | PSH | FIN), sv.frame(flags=ACK | FIN)])
    assert [d.payload for d in out] == [MSG2] and dec.stats()["tcp_streams"] == 0


def test_new_syn_resets_direction() -> None:
    dec, _ = new_decoder()
    cl, _sv = pair()
    feed(dec, [cl.frame(flags=SYN), cl.frame(MSG1[:50])])
    cl2 = Peer(A4, 40000, B4, 5060, 555555)
    out = feed(dec, [cl2.frame(flags=SYN), cl2.frame(flags=SYN, seq=555555), cl2.frame(MSG2)])
    assert [d.payload for d in out] == [MSG2]


def test_stream_table_bound_and_expiry() -> None:
    dec, c = new_decoder(tcp_max_streams=2, tcp_idle_timeout_s=10.0)
    for i, port in enumerate((40001, 40002, 40003)):
        dec.decode(1, float(i), pair(port)[0].frame(MSG1[:10]))
    assert c["decode.tcp_stream_evicted"] == 1 and dec.stats()["tcp_streams"] == 2
    dec.expire(11.5)
    assert c["decode.tcp_stream_expired"] == 1 and dec.stats()["tcp_streams"] == 1
    dec.expire(100.0)
    assert dec.stats()["tcp_streams"] == 0


def test_buffer_overflow_resets_and_resyncs() -> None:
    dec, c = new_decoder(tcp_max_buffer_bytes=1000)
    cl, _sv = pair()
    huge = b"INVITE sip:x SIP/2.0\r\nX: " + b"y" * 1200
    out = feed(dec, [cl.frame(huge[:700]), cl.frame(huge[700:]), cl.frame(b"\r\n\r\n" + MSG2)])
    assert [d.payload for d in out] == [MSG2]
    assert c["decode.tcp_buffer_overflow"] == 1


def test_tls_on_sip_port_is_ignored() -> None:
    dec, c = new_decoder()
    cl, _sv = pair(40000, 5061)
    assert (
        feed(
            dec,
            [
                cl.frame(b"\x16\x03\x01\x02\x00" + b"\x01" * 100),
                cl.frame(b"\x17\x03\x03" + b"\n" * 50),
            ],
        )
        == []
    )
    assert c.snapshot() == {"decode.tcp_tls": 1, "decode.tcp_not_sip": 1}
    assert dec.stats()["tcp_streams"] == 1


def test_ip_fragmented_segment_frames() -> None:
    dec, _ = new_decoder()
    seg = tcp(MSG1, 1000, 40000, 5060)
    f1 = eth(ipv4(seg[:200], proto=6, ident=9, frag=0x2000))
    f2 = eth(ipv4(seg[200:], proto=6, ident=9, frag=200 >> 3))
    assert dec.decode(1, 1.0, f1) == []
    (d,) = dec.decode(1, 2.0, f2)
    assert d.payload == MSG1 and d.frames == [(1.0, f1), (2.0, f2)] and d.payload_offset == -1


@pytest.mark.parametrize("port", [5060, 5080])
def test_default_sip_ports(port: int) -> None:
    dec, _ = new_decoder()
    cl, _sv = pair(40000, port)
    assert feed(dec, [cl.frame(MSG1[100:]), cl.frame(MSG2)])[0].payload == MSG2


def test_out_of_order_bytes_bound_skips_the_gap() -> None:
    dec, c = new_decoder(tcp_max_buffer_bytes=500)
    cl, _sv = pair()
    dec.decode(1, 0.0, cl.frame(flags=SYN))
    cl.frame(b"x" * 10)  # lost
    out = feed(dec, [cl.frame(MSG2 + b"y" * 300), cl.frame(MSG3)])
    assert [d.payload for d in out] == [MSG2]
    assert c["decode.tcp_gap"] == 1 and c["decode.tcp_out_of_order"] == 1
