"""Out-of-dialog SIP that makes no record (OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH, ...):
counted per peer and method, bounded."""

from __future__ import annotations

from sniffer.netaddr import ip_to_text

MAX_PEERS = 10_000
KNOWN_METHODS = frozenset(
    [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "INFO",
        "REFER",
        "MESSAGE",
        "UPDATE",
    ]
)


class PeerCounters:
    """Requests and final responses per (peer IP, method)."""

    def __init__(self, max_peers: int = MAX_PEERS) -> None:
        self.max_peers = max_peers
        self.requests: dict[bytes, dict[str, int]] = {}
        self.overflow = 0

    def count(self, src: bytes, method: str) -> None:
        per = self.requests.get(src)
        if per is None:
            if len(self.requests) >= self.max_peers:
                self.overflow += 1
                return
            per = self.requests[src] = {}
        if method not in KNOWN_METHODS:
            method = "other"
        per[method] = per.get(method, 0) + 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {ip_to_text(ip): dict(sorted(m.items())) for ip, m in sorted(self.requests.items())}
