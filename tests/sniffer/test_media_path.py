"""RTP payload extraction of the media path (padding, CSRCs, extension)."""

import struct

from sniffer.rtp.header import rtp_payload


def rtp(payload: bytes, *, pad: int = 0, csrcs: int = 0, ext_words: int = -1) -> bytes:
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext_words >= 0 else 0) | csrcs
    out = struct.pack("!BBHII", b0, 101, 1, 2, 3) + b"\0\0\0\1" * csrcs
    if ext_words >= 0:
        out += struct.pack("!HH", 0xBEDE, ext_words) + b"\0" * 4 * ext_words
    out += payload
    if pad:
        out += b"\0" * (pad - 1) + bytes([pad])
    return out


def test_plain_and_with_header_parts() -> None:
    ev = bytes([5, 0x8A, 0x03, 0x20])
    for pkt in (rtp(ev), rtp(ev, csrcs=2), rtp(ev, ext_words=1), rtp(ev, pad=4)):
        assert rtp_payload(pkt, 0, len(pkt)) == ev
    framed = b"\xaa" * 42 + rtp(ev, pad=3)
    assert rtp_payload(framed, 42, len(framed)) == ev


def test_overruns_are_none() -> None:
    ev = bytes([5, 0x8A, 0x03, 0x20])
    too_much_padding = rtp(ev)[:-1] + b"\x09"
    too_much_padding = bytes([too_much_padding[0] | 0x20]) + too_much_padding[1:]
    assert rtp_payload(too_much_padding, 0, len(too_much_padding)) is None
    zero_padding = bytes([0xA0]) + rtp(ev)[1:-1] + b"\x00"
    assert rtp_payload(zero_padding, 0, len(zero_padding)) is None
    short_ext = rtp(b"", ext_words=3)[:-4]
    assert rtp_payload(short_ext, 0, len(short_ext)) is None
