"""Cheap audio level of G.711 RTP, judged on a sample of packets.

Each byte of a sampled payload is mapped through a 256-entry table (``bytes.translate``) to its
linear magnitude clipped at 255, and the bytes are summed in C: the packet's mean absolute
amplitude, exact up to 255 (-42.2 dBov) and saturated above, which is all a silence threshold
needs. A packet is *silent* when that mean is below ``diagnosis.silence_dbov``.
"""

from __future__ import annotations

import math

ULAW = "PCMU"
ALAW = "PCMA"
FULL_SCALE = 32768.0
"""0 dBov: the magnitude of a full-scale 16-bit sample."""
CLIP = 255


def ulaw_magnitude(code: int) -> int:
    """|linear value| of a G.711 mu-law code (ITU-T G.711, 16-bit scale)."""
    u = ~code & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    return (((mantissa << 3) + 0x84) << exponent) - 0x84


def alaw_magnitude(code: int) -> int:
    """|linear value| of a G.711 A-law code (ITU-T G.711, 16-bit scale)."""
    a = code ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    if exponent == 0:
        return (mantissa << 4) + 8
    return ((mantissa << 4) + 0x108) << (exponent - 1)


def _table(magnitude: object) -> bytes:
    assert callable(magnitude)
    return bytes(min(CLIP, magnitude(c)) for c in range(256))


TABLES = {ULAW: _table(ulaw_magnitude), ALAW: _table(alaw_magnitude)}


def dbov_to_amplitude(dbov: float) -> float:
    return FULL_SCALE * math.pow(10.0, dbov / 20.0)


def amplitude_to_dbov(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude / FULL_SCALE) if amplitude > 0 else -math.inf


class LevelMeter:
    """Counts sampled packets of one stream and how many of them were silent."""

    __slots__ = ("pt", "silent", "table", "threshold", "total")

    def __init__(self, table: bytes | None, threshold: float, pt: int) -> None:
        self.pt = pt
        """The payload type measured (the stream's main one); -1 for none."""
        self.table = table
        """None for a payload that is not G.711: nothing is measured."""
        self.threshold = threshold
        """Mean absolute amplitude below which a packet is silent."""
        self.silent = 0
        self.total = 0

    def add(self, payload: bytes) -> None:
        table = self.table
        n = len(payload)
        if table is None or n == 0:
            return
        self.total += 1
        if sum(payload.translate(table)) < self.threshold * n:
            self.silent += 1

    @property
    def silent_pct(self) -> float:
        return self.silent * 100.0 / self.total if self.total else 0.0
