"""16-bit RTP sequence-number arithmetic (RFC 3550 section A.1)."""

SEQ_MOD = 1 << 16
HALF = 1 << 15


def seq_diff(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a`` in 16-bit space, in ``[-32768, 32767]``."""
    return ((a - b + HALF) & 0xFFFF) - HALF


def seq_gt(a: int, b: int) -> bool:
    """True if ``a`` is after ``b`` (modulo 2**16)."""
    return seq_diff(a, b) > 0


def seq_add(a: int, n: int) -> int:
    return (a + n) & 0xFFFF
