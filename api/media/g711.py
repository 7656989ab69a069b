"""G.711 µ-law and A-law (ITU-T G.711) to 16-bit linear PCM, by table lookup."""


def _ulaw(b: int) -> int:
    b = ~b & 0xFF
    t = ((b & 0x0F) << 3) + 0x84
    t <<= (b & 0x70) >> 4
    return (0x84 - t) if b & 0x80 else (t - 0x84)


def _alaw(b: int) -> int:
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


ULAW = tuple(_ulaw(i) for i in range(256))
ALAW = tuple(_alaw(i) for i in range(256))


def _tables(values: tuple[int, ...]) -> tuple[bytes, bytes]:
    lo = bytes((v & 0xFFFF) & 0xFF for v in values)
    hi = bytes(((v & 0xFFFF) >> 8) & 0xFF for v in values)
    return lo, hi


_ULAW_LO, _ULAW_HI = _tables(ULAW)
_ALAW_LO, _ALAW_HI = _tables(ALAW)


def _decode(data: bytes, lo: bytes, hi: bytes) -> bytes:
    out = bytearray(2 * len(data))
    out[0::2] = data.translate(lo)
    out[1::2] = data.translate(hi)
    return bytes(out)


def ulaw_to_pcm16(data: bytes) -> bytes:
    """µ-law bytes -> little-endian signed 16-bit samples."""
    return _decode(data, _ULAW_LO, _ULAW_HI)


def alaw_to_pcm16(data: bytes) -> bytes:
    """A-law bytes -> little-endian signed 16-bit samples."""
    return _decode(data, _ALAW_LO, _ALAW_HI)
