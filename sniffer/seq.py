"""Sequence-number arithmetic modulo 2**16 (RTP sequence numbers, RFC 3550 section A.1) and
modulo 2**32 (RTP timestamps, TCP sequence numbers, SCTP TSNs): every caller uses these.

The RTP fast path (:meth:`sniffer.rtp.stats.StreamStats.add`) only checks ``(max + 1) & 0xFFFF
== seq`` inline; anything else comes here.
"""

SEQ_MOD = 1 << 16
HALF = 1 << 15
SEQ_MASK = SEQ_MOD - 1
SEQ32_MASK = (1 << 32) - 1
HALF32 = 1 << 31


def seq_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a`` in 16-bit space, in ``[-32768, 32767]``."""
    return ((a - b + HALF) & SEQ_MASK) - HALF


def seq_gt(a: int, b: int) -> bool:
    """True if ``a`` is after ``b`` (modulo 2**16)."""
    return seq_diff(a, b) > 0


def seq_add(a: int, n: int) -> int:
    """``a + n`` modulo 2**16 (``n`` may be negative)."""
    return (a + n) & SEQ_MASK


def seq32_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a`` in 32-bit space, in ``[-2**31, 2**31 - 1]``."""
    return ((a - b + HALF32) & SEQ32_MASK) - HALF32


def seq32_add(a: int, n: int) -> int:
    """``a + n`` modulo 2**32 (``n`` may be negative)."""
    return (a + n) & SEQ32_MASK
