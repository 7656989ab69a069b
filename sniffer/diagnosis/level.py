"""Cheap audio level of G.711 RTP, judged on a sample of packets.

A sample (byte) of a G.711 payload is *loud* when its linear magnitude (ITU-T G.711, 16-bit
scale) reaches the ``diagnosis.silence_dbov`` amplitude. A sampled packet is *silent* when
fewer than one in :data:`LOUD_SHARE_DIV` of its samples are loud. The loud samples are counted
in C, by deleting the quiet codes from the payload (``bytes.translate``) and taking the length
of what is left: no Python-level loop over the samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable

ULAW = "PCMU"
ALAW = "PCMA"
FULL_SCALE = 32768.0
"""0 dBov: the magnitude of a full-scale 16-bit sample."""
LOUD_SHARE_DIV = 8
"""A packet with fewer than 1/8 of its samples loud is silent (speech and line noise have
most of theirs above any sensible threshold, digital silence none)."""


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


MAGNITUDES: dict[str, Callable[[int], int]] = {ULAW: ulaw_magnitude, ALAW: alaw_magnitude}


def quiet_codes(encoding: str, dbov: float) -> bytes | None:
    """The codes of ``encoding`` whose magnitude is below ``dbov``; None if not G.711."""
    magnitude = MAGNITUDES.get(encoding)
    if magnitude is None:
        return None
    threshold = dbov_to_amplitude(dbov)
    return bytes(c for c in range(256) if magnitude(c) < threshold)


def dbov_to_amplitude(dbov: float) -> float:
    return FULL_SCALE * math.pow(10.0, dbov / 20.0)


def amplitude_to_dbov(amplitude: float) -> float:
    return 20.0 * math.log10(amplitude / FULL_SCALE) if amplitude > 0 else -math.inf


class LevelMeter:
    """Counts sampled packets of one stream and how many of them were silent."""

    __slots__ = ("pt", "quiet", "silent", "total")

    def __init__(self, quiet: bytes | None, pt: int) -> None:
        self.quiet = quiet
        """The codes below the threshold; None for a payload that is not G.711 (nothing is
        measured)."""
        self.pt = pt
        """The payload type measured (the stream's main one); -1 for none."""
        self.silent = 0
        self.total = 0

    def add(self, payload: bytes) -> None:
        quiet = self.quiet
        n = len(payload)
        if quiet is None or n == 0:
            return
        self.total += 1
        if len(payload.translate(None, quiet)) * LOUD_SHARE_DIV < n:
            self.silent += 1

    @property
    def silent_pct(self) -> float:
        return self.silent * 100.0 / self.total if self.total else 0.0
