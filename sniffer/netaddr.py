"""Packed IP addresses (4 or 16 bytes) as used on the hot path, and their text form."""

import socket


def ip_to_text(addr: bytes) -> str:
    """``b'\\x7f\\0\\0\\1'`` -> ``'127.0.0.1'``; 16 bytes -> compressed IPv6 text."""
    if len(addr) == 4:
        return socket.inet_ntop(socket.AF_INET, addr)
    if len(addr) == 16:
        return socket.inet_ntop(socket.AF_INET6, addr)
    raise ValueError(f"IP address must be 4 or 16 bytes, got {len(addr)}")


def text_to_ip(text: str) -> bytes | None:
    """Parse an IPv4/IPv6 literal (brackets allowed) to packed bytes; None if not an address.

    Never raises: the text comes off the wire (``inet_pton`` raises ``ValueError`` for an
    embedded NUL and ``UnicodeEncodeError`` for a lone surrogate, ``OSError`` otherwise)."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if not t.isascii() or "\0" in t:
        return None
    try:
        if ":" in t:
            return socket.inet_pton(socket.AF_INET6, t)
        return socket.inet_pton(socket.AF_INET, t)
    except (OSError, ValueError):
        return None
