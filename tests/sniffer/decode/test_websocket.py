"""WebSocket framing (RFC 6455) and SIP over WebSocket (RFC 7118) streams."""

import os
import zlib
from struct import pack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.decode.websocket import WebSocketError, WsFrame, http_status, is_sip_upgrade, unmask
from tests.hypo import examples

from .build import ACK, FIN, SYN, new_decoder, sip
from .test_tcp import Peer, feed, pair

UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: abc\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
SWITCH = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
)
MSG1 = sip("ws1@x", body=b"v=0\r\n" * 60)
MSG2 = sip("ws2@x", "BYE", cseq=2)


def ws(
    payload: bytes, opcode: int = 1, fin: bool = True, mask: bytes | None = None, rsv1: bool = False
) -> bytes:
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    m = 0x80 if mask is not None else 0
    if n < 126:
        head = pack("!BB", b0, m | n)
    elif n < 65536:
        head = pack("!BBH", b0, m | 126, n)
    else:
        head = pack("!BBQ", b0, m | 127, n)
    if mask is None:
        return head + payload
    return head + mask + unmask(payload, mask)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_frame_lengths_and_mask(size: int) -> None:
    payload = os.urandom(size)
    for mask in (None, b"\x01\x02\x03\x04"):
        raw = ws(payload, 2, mask=mask)
        f = WsFrame.parse(b"xx" + raw, 2)
        assert (
            f is not None and f.fin and f.opcode == 2 and f.mask == mask and f.payload_len == size
        )
        assert f.total_len == len(raw)
        body = raw[f.header_len :]
        assert (unmask(body, mask) if mask else body) == payload
        assert WsFrame.parse(raw[: f.header_len - 1]) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x91\x00", "reserved bits 0x10 set"),
        (b"\x83\x00", "reserved opcode 0x3"),
        (b"\x8b\x00", "reserved opcode 0xb"),
        (b"\x09\x00", "control frame 0x9 fragmented or longer than 125 bytes"),
        (b"\x88\x7e\x00\x80", "control frame 0x8 fragmented or longer than 125 bytes"),
        (b"\x82\x7f\x80" + b"\0" * 7, "64-bit payload length has its most significant bit set"),
    ],
)
def test_frame_errors(raw: bytes, message: str) -> None:
    with pytest.raises(WebSocketError) as e:
        WsFrame.parse(raw)
    assert str(e.value) == message


@settings(max_examples=examples(300))
@given(st.binary(max_size=40), st.integers(0, 5))
def test_frame_parse_fuzz(data: bytes, start: int) -> None:
    try:
        f = WsFrame.parse(data, start)
    except WebSocketError:
        return
    assert f is None or f.header_len in (2, 4, 6, 8, 10, 14)


def test_upgrade_detection_and_status() -> None:
    assert is_sip_upgrade(UPGRADE, 0, len(UPGRADE))
    assert not is_sip_upgrade(UPGRADE.replace(b"sip", b"xmpp"), 0, len(UPGRADE))
    assert not is_sip_upgrade(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 30)
    assert is_sip_upgrade(
        b"xx" + UPGRADE.replace(b"Upgrade: websocket", b"upgrade:WebSocket"), 2, len(UPGRADE) + 2
    )
    assert http_status(SWITCH) == 101
    assert http_status(b"HTTP/1.1 403 Forbidden") == 403
    assert http_status(b"GET / HTTP/1.1") is None and http_status(b"HTTP/1.1 abc") is None


HANDSHAKE_COUNTERS = {"decode.tcp_not_sip": 2}
"""SYN and SYN/ACK on a non-SIP port: the connection is only tracked from the upgrade request."""


def connect(port: int = 8080) -> tuple[Peer, Peer, list[bytes]]:
    cl, sv = pair(43380, port)
    frames = [cl.frame(flags=SYN), sv.frame(flags=SYN | ACK), cl.frame(UPGRADE), sv.frame(SWITCH)]
    return cl, sv, frames


def test_masked_client_and_unmasked_server_messages() -> None:
    dec, c = new_decoder()
    cl, sv, frames = connect()
    client = ws(MSG1, mask=b"\xaa\xbb\xcc\xdd")
    frames += [
        cl.frame(client[:300]),
        cl.frame(client[300:] + ws(b"", 9, mask=b"1234")),
        sv.frame(ws(MSG2)),
    ]
    out = feed(dec, frames)
    assert [(d.sport, d.payload, d.encap, d.transport) for d in out] == [
        (43380, MSG1, "ws", 6),
        (8080, MSG2, "ws", 6),
    ]
    assert out[0].frames == [(5.0, frames[4]), (6.0, frames[5])] and out[0].payload_offset == -1
    assert frames[6][out[1].payload_offset :] == MSG2
    assert c.snapshot() == HANDSHAKE_COUNTERS


def test_fragmented_message_with_interleaved_ping() -> None:
    dec, c = new_decoder()
    cl, _sv, frames = connect()
    m = b"\x01\x02\x03\x04"
    data = (
        ws(MSG1[:100], 1, fin=False, mask=m)
        + ws(b"hi", 9, mask=m)
        + ws(MSG1[100:200], 0, fin=False, mask=m)
    )
    data += ws(MSG1[200:], 0, mask=m) + ws(MSG2, 2, mask=m)
    frames += [cl.frame(data)]
    out = feed(dec, frames)
    assert [d.payload for d in out] == [MSG1, MSG2] and c.snapshot() == HANDSHAKE_COUNTERS


def test_permessage_deflate() -> None:
    dec, c = new_decoder()
    cl, _sv, frames = connect()
    comp = zlib.compressobj(wbits=-15)
    z1 = comp.compress(MSG1) + comp.flush(zlib.Z_SYNC_FLUSH)
    z2 = comp.compress(MSG2) + comp.flush(zlib.Z_SYNC_FLUSH)  # context takeover
    frames += [
        cl.frame(ws(z1[:-4], rsv1=True, mask=b"abcd")),
        cl.frame(ws(z2[:-4], rsv1=True, mask=b"efgh")),
    ]
    out = feed(dec, frames)
    assert [d.payload for d in out] == [MSG1, MSG2] and c.snapshot() == HANDSHAKE_COUNTERS


def test_refused_upgrade_and_bad_frames() -> None:
    dec, c = new_decoder()
    cl, sv = pair(43380, 8080)
    feed(dec, [cl.frame(UPGRADE), sv.frame(b"HTTP/1.1 403 Forbidden\r\n\r\n"), sv.frame(ws(MSG2))])
    assert c["decode.ws_upgrade_refused"] == 1
    dec, c = new_decoder()
    cl, _sv, frames = connect()
    out = feed(dec, [*frames, cl.frame(b"\x83\x00"), cl.frame(ws(MSG2, mask=b"abcd"))])
    assert out == [] and c["decode.ws_bad_frame"] == 1


def test_non_sip_messages_orphans_and_close() -> None:
    dec, c = new_decoder()
    _cl, sv, frames = connect()
    frames += [
        sv.frame(ws(b"hello") + ws(b"cont", 0) + ws(b"", 1, fin=False) + ws(MSG2, 2)),
        sv.frame(ws(b"\x03\xe8", 8)),
        sv.frame(ws(MSG2)),
    ]
    out = feed(dec, frames)
    assert [d.payload for d in out] == [MSG2]
    assert c.snapshot() == {
        "decode.ws_not_sip": 1,
        "decode.ws_orphan_continuation": 1,
        "decode.ws_unfinished_message": 1,
        "decode.tcp_not_sip": 3,  # handshake + the frame after the close
    }


def test_websocket_on_sip_port_and_fin_close() -> None:
    dec, c = new_decoder()
    cl, sv, frames = connect(5060)
    frames += [
        cl.frame(ws(MSG2, mask=b"wxyz")),
        cl.frame(flags=ACK | FIN),
        sv.frame(flags=ACK | FIN),
    ]
    out = feed(dec, frames)
    assert (
        [d.payload for d in out] == [MSG2]
        and dec.stats()["tcp_streams"] == 0
        and c.snapshot() == {}
    )


def test_gap_in_websocket_stream_loses_sync() -> None:
    dec, c = new_decoder(tcp_max_ooo_segments=1)
    cl, _sv, frames = connect()
    cl.frame(b"lost bytes")
    frames += [cl.frame(ws(MSG2, mask=b"abcd")), cl.frame(ws(MSG2, mask=b"abcd"))]
    assert feed(dec, frames) == []
    assert c["decode.tcp_gap"] == 1 and c["decode.ws_lost_sync"] == 1
