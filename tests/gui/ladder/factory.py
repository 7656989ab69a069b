"""API-shaped dicts for the ladder's tests (``/calls/{id}/sip`` items, ``/calls/{id}``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

T0 = 1_700_000_000.0


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def msg(
    index: int,
    ts: float,
    src: str = "10.0.0.1:5060",
    dst: str = "10.0.0.2:5060",
    method: str | None = "INVITE",
    status: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sip, sport = src.rsplit(":", 1)
    dip, dport = dst.rsplit(":", 1)
    reason = {100: "Trying", 180: "Ringing", 200: "OK", 486: "Busy Here"}.get(status or 0)
    item: dict[str, Any] = {
        "index": index,
        "ts": iso(T0 + ts),
        "offset_ms": ts * 1000,
        "delta_ms": 0.0,
        "src_ip": sip,
        "src_port": int(sport),
        "dst_ip": dip,
        "dst_port": int(dport),
        "transport": "udp",
        "method": None if status is not None else method,
        "status": status,
        "reason": reason if status is not None else None,
        "cseq": 1,
        "cseq_method": method or "INVITE",
        "call_id": "call-1@test",
        "from_tag": "ft",
        "to_tag": "" if status is None or status < 101 else "tt",
        "via_branch": "z9hG4bK-1",
        "retransmission": False,
        "summary": f"{method if status is None else status} (CSeq 1 {method})",
        "user_agent": None,
        "sdp": None,
        "leg_id": 7,
        "raw": f"{method} sip:bob@test SIP/2.0\r\nCall-ID: call-1@test\r\n\r\n",
    }
    item.update(extra)
    return item


def basic_call() -> list[dict[str, Any]]:
    """INVITE, 100, 180, 180 again (retransmission), 200, ACK, BYE, 200 between two hosts, the
    caller sending from two ports (5060 for the INVITE transaction, 5062 for BYE)."""
    a, b, a2 = "10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.1:5062"
    return [
        msg(0, 0.0, a, b, "INVITE", user_agent="alice-phone/1.0", sdp="audio 10.0.0.1:4000 PCMU"),
        msg(1, 0.010, b, a, "INVITE", 100),
        msg(2, 0.500, b, a, "INVITE", 180, user_agent="bob-pbx/2.0"),
        msg(3, 0.900, b, a, "INVITE", 180, user_agent="bob-pbx/2.0"),
        msg(4, 2.000, b, a, "INVITE", 200, sdp="audio 10.0.0.2:5000 PCMU"),
        msg(5, 2.010, a, b, "ACK", via_branch="z9hG4bK-2", cseq_method="ACK"),
        msg(6, 9.000, a2, b, "BYE", cseq=2, cseq_method="BYE", via_branch="z9hG4bK-3"),
        msg(7, 9.020, b, a2, "BYE", 200, cseq=2, via_branch="z9hG4bK-3"),
    ]


def sip_json(items: list[dict[str, Any]], aliases: dict[str, str] | None = None) -> dict[str, Any]:
    ips: dict[str, dict[str, Any]] = {}
    for m in items:
        for ip, port in ((m["src_ip"], m["src_port"]), (m["dst_ip"], m["dst_port"])):
            h = ips.setdefault(
                ip, {"ip": ip, "ports": [], "alias": (aliases or {}).get(ip), "user_agents": []}
            )
            if port not in h["ports"]:
                h["ports"].append(port)
    return {
        "call_ids": sorted({m["call_id"] for m in items}),
        "hosts": list(ips.values()),
        "items": items,
        "truncated": False,
    }


def stream(
    index: int, src: str, dst: str, first: float, last: float, **extra: Any
) -> dict[str, Any]:
    sip, sport = src.rsplit(":", 1)
    dip, dport = dst.rsplit(":", 1)
    s: dict[str, Any] = {
        "index": index,
        "direction": "caller" if index == 0 else "callee",
        "src_ip": sip,
        "src_port": int(sport),
        "dst_ip": dip,
        "dst_port": int(dport),
        "ssrc": 0x1234ABCD + index,
        "payload_type": 0,
        "codec": "PCMU",
        "packets": 350,
        "lost": 3,
        "loss_pct": 0.85,
        "duplicates": 0,
        "out_of_order": 0,
        "max_delta_ms": 40.0,
        "max_jitter_ms": 4.2,
        "mean_jitter_ms": 1.1,
        "mos": 4.1,
        "first_ts": iso(T0 + first),
        "last_ts": iso(T0 + last),
        "telephone_events": 0,
        "rtcp": None,
    }
    s.update(extra)
    return s


def call_json(
    streams: list[dict[str, Any]], digits: list[tuple[str, float | None]]
) -> dict[str, Any]:
    return {
        "id": 1,
        "streams": streams,
        "dtmf_digits": [{"digit": d, "ts": None if t is None else iso(T0 + t)} for d, t in digits],
    }


def rtcp_stream() -> dict[str, Any]:
    """The caller's stream, 2.1 s to 8.9 s after the INVITE, with RTCP figures."""
    return stream(
        0,
        "10.0.0.1:4000",
        "10.0.0.2:5000",
        2.1,
        8.9,
        rtcp={"sr_count": 3, "rr_count": 2, "rtt_avg_ms": 12.5},
    )
