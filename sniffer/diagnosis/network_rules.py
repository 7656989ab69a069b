"""Rules on addresses and on the sensor itself: nat_mismatch, capture_loss."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache

from sniffer.diagnosis.facts import Facts, arrow, endpoint
from sniffer.diagnosis.registry import rule
from sniffer.netaddr import ip_to_text

_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
"""RFC 1918, RFC 6598 (carrier-grade NAT) and RFC 4193 (unique local) ranges."""


@lru_cache(maxsize=4096)
def is_private(ip: bytes) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr.version == n.version and addr in n for n in _PRIVATE)


@lru_cache(maxsize=4096)
def is_public(ip: bytes) -> bool:
    return ipaddress.ip_address(ip).is_global


@rule("nat_mismatch")
def nat_mismatch(f: Facts) -> Iterator[str]:
    """A side's RTP comes from an ip:port none of its SDPs announced (symmetric RTP behind
    NAT); or a side's SDP announces a private address (RFC 1918, RFC 6598, RFC 4193) while the
    message carrying it came from a public one."""
    announced: dict[str, list[tuple[bytes, int]]] = {}
    reported: set[tuple[str, bytes]] = set()
    for side, ip, port, sig in f.notes.announced:
        announced.setdefault(side, []).append((ip, port))
        if (side, ip) not in reported and len(sig) == len(ip) and is_private(ip) and is_public(sig):
            reported.add((side, ip))
            yield (
                f"{side}: SDP announces private {ip_to_text(ip)} but its signalling came "
                f"from public {ip_to_text(sig)}"
            )
    seen: set[tuple[str | None, bytes, int]] = set()
    for s in f.call.streams:
        mine = announced.get(s.sender or "")
        key = (s.sender, s.src, s.sport)
        if not mine or (s.src, s.sport) in mine or key in seen or not s.stats.packets:
            continue
        seen.add(key)
        said = ", ".join(endpoint(ip, port) for ip, port in mine[:3])
        yield f"{arrow(s.sender)}: RTP from {endpoint(s.src, s.sport)}, SDP announced {said}"


@rule("capture_loss")
def capture_loss(f: Facts) -> Iterator[str]:
    """The sensor dropped packets (kernel ring or its own queue) while the call was up."""
    kernel, queue = f.drops
    if kernel + queue > 0:
        yield (
            f"the sensor dropped {kernel + queue} packets while the call was up "
            f"(kernel {kernel}, queue {queue}): loss figures may be partly the sensor's"
        )
