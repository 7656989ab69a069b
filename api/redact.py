"""Consistent, length-preserving redaction for shared evidence: chosen IP addresses become
stand-ins of the same text length (so SIP Content-Length and TCP framing still hold), caller
and called numbers are masked but for their last digits."""

import ipaddress
import re
from collections.abc import Iterable


def _ipv4_of_length(n: int, serial: int) -> str:
    """An address whose text has exactly ``n`` (7..15) characters, in 10.0.0.0/8 when the
    length allows, different for each ``serial`` (as far as the length allows)."""
    widths = [1, 1, 1, 1]
    k = 0
    while sum(widths) < n - 3:
        widths[k % 4] = min(3, widths[k % 4] + 1)
        k += 1
    octets = [10 if widths[0] == 2 else 100 if widths[0] == 3 else 9]
    for w, shift in zip(widths[1:], (16, 8, 0), strict=True):
        lo = 10 ** (w - 1) if w > 1 else 0
        hi = 255 if w == 3 else 10**w - 1
        octets.append(lo + ((serial >> shift) & 0xFF) % (hi - lo + 1))
    return ".".join(str(o) for o in octets)


def _hex_groups(widths: list[int], serial: int) -> list[str]:
    return [format((serial + k) % 16**w, f"0{w}x") for k, w in enumerate(widths)]


def _spread(total: int, count: int) -> list[int]:
    widths = [1] * count
    k = 0
    while sum(widths) < total:
        widths[k % count] = min(4, widths[k % count] + 1)
        k += 1
    return widths


def _ipv6_of_length(n: int, serial: int) -> str:
    """An address (fd00::/8 where the length allows) whose text has exactly ``n`` (2..39)
    characters."""
    if n >= 15:  # eight groups, no "::"
        groups = _hex_groups(_spread(n - 7, 8), serial)
        if len(groups[0]) >= 2:
            groups[0] = "fd" + groups[0][2:]
        return ":".join(groups)
    if n >= 7:
        rest = n - 6
        count = (rest + 1 + 4) // 5
        return "fd00::" + ":".join(_hex_groups(_spread(rest - (count - 1), count), serial))
    return "::" + format(serial % 16 ** (n - 2) or 1, f"0{n - 2}x")


class Redactor:
    """Replaces ``ips`` (text and packed forms) and masks ``numbers`` everywhere it is applied."""

    def __init__(self, ips: Iterable[str] = (), numbers: Iterable[str] = (), keep_digits: int = 0):
        self.ip_map: dict[str, str] = {}
        texts: dict[str, str] = {}
        for serial, ip in enumerate(sorted(set(ips)), start=1):
            addr = ipaddress.ip_address(ip)
            short = str(addr)
            make = _ipv4_of_length if addr.version == 4 else _ipv6_of_length
            stand_in = make(len(short), serial)
            for bump in range(1, 64):  # a stand-in never equals the address it hides
                if stand_in != short or len(short) <= 2:  # "::" has no other spelling
                    break
                stand_in = make(len(short), serial + bump)
            self.ip_map[short] = stand_in
            texts[short] = stand_in
            if addr.version == 6:
                full = addr.exploded
                texts[full] = ipaddress.ip_address(stand_in).exploded
        for num in sorted({n for n in numbers if n}, key=len, reverse=True):
            texts[num] = mask_number(num, keep_digits)
        self._texts = texts
        self._pattern = (
            re.compile("|".join(re.escape(k) for k in sorted(texts, key=len, reverse=True)))
            if texts
            else None
        )
        self._bpattern = (
            re.compile(
                b"|".join(re.escape(k.encode()) for k in sorted(texts, key=len, reverse=True))
            )
            if texts
            else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self._texts[m.group(0)], value)

    def data(self, value: bytes) -> bytes:
        if self._bpattern is None or not value:
            return value
        return self._bpattern.sub(lambda m: self._texts[m.group(0).decode()].encode(), value)

    def ip(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self.ip_map.get(value, value)


def mask_number(number: str, keep_digits: int) -> str:
    """Digits replaced by ``x`` but for the last ``keep_digits``; other characters kept, so the
    length does not change: ``+12263382742`` -> ``+xxxxxxx2742`` (keep 4)."""
    total = sum(c.isdigit() for c in number)
    seen = 0
    out = []
    for c in number:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - keep_digits else "x")
        else:
            out.append(c if not c.isalpha() else "x")
    return "".join(out)
