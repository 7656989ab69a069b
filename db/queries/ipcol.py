"""IP text <-> the ``VARBINARY(16)`` column layout (``INET6_ATON``) for the API's tables."""

import ipaddress


def ip_col(text: str | None) -> bytes | None:
    """``'192.0.2.1'`` -> 4 bytes, IPv6 -> 16 bytes; None when not an address."""
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip().strip("[]")).packed
    except ValueError:
        return None


def ip_str(value: bytes | bytearray | None) -> str | None:
    """The column's bytes as text (IPv6 compressed); None for NULL or a bad length."""
    if value is None or len(value) not in (4, 16):
        return None
    return str(ipaddress.ip_address(bytes(value)))
