"""Synthetic captures for the diagnosis rules: a clean answered call (G.711 carrying speech-like
audio both ways) and edits of its packets that raise one problem each."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import replace

from db.records import CallRecord
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.diagnosis.level import ULAW
from tests.pcapgen import Call, IpPacket, MediaOpts, Party
from tests.sniffer.e2e import T0, Run, analyze_scenario

VOICE = bytes((0x10 + (i * 37) % 0x30) ^ (0x80 if i % 2 else 0) for i in range(160))
"""Loud mu-law samples (about -12 dBov): what a speaking phone sends."""
QUIET = bytes([0xFF]) * 160
"""Mu-law digital silence."""
CALL_ID = "diag-1@pcapgen"
ANSWER = T0 + 0.05 + 1.0
"""Answer time of the default call (INVITE at T0, 180 at +0.05, 200 after ring_s=1)."""
Edit = Callable[[list[IpPacket]], list[IpPacket]]


def rtp_of(p: IpPacket) -> tuple[int, int] | None:
    """(payload type, sequence) of an RTP packet, else None."""
    if p.kind != "rtp" or len(p.payload) < 12:
        return None
    return p.payload[1] & 0x7F, struct.unpack_from("!H", p.payload, 2)[0]


def with_payload(p: IpPacket, audio: bytes) -> IpPacket:
    return p._replace(payload=p.payload[:12] + audio[: len(p.payload) - 12])


def speaking(packets: Iterable[IpPacket]) -> list[IpPacket]:
    """G.711 payloads replaced by loud audio (the generator sends silence)."""
    out = []
    for p in packets:
        r = rtp_of(p)
        out.append(with_payload(p, VOICE) if r is not None and r[0] in (0, 8) else p)
    return out


def call(**kw: object) -> Call:
    args: dict[str, object] = {"call_id": CALL_ID, "talk_s": 20.0}
    args.update(kw)
    return Call(**args)  # type: ignore[arg-type]


def packets_of(c: Call) -> list[IpPacket]:
    return speaking(c.build().packets)


def from_ip(p: IpPacket, ip: str) -> bool:
    return p.src == ip


def sent_by(packets: list[IpPacket], ip: str, kind: str = "rtp") -> list[IpPacket]:
    return [p for p in packets if p.kind == kind and p.src == ip]


def drop(packets: list[IpPacket], keep: Callable[[IpPacket], bool]) -> list[IpPacket]:
    return [p for p in packets if keep(p)]


def shift_sip(packets: list[IpPacket], first_line: bytes, dt: float) -> list[IpPacket]:
    """Move the SIP messages starting with ``first_line`` by ``dt`` s (kept in time order)."""
    out = [
        p._replace(ts=round(p.ts + dt, 6))
        if p.kind == "sip" and p.payload.startswith(first_line)
        else p
        for p in packets
    ]
    return sorted(out, key=lambda p: p.ts)


def add_header(packets: list[IpPacket], first_line: bytes, header: str) -> list[IpPacket]:
    """Add ``header`` (a full ``Name: value`` line) to the SIP messages starting with
    ``first_line``."""
    out = []
    for p in packets:
        if p.kind == "sip" and p.payload.startswith(first_line):
            head, sep, body = p.payload.partition(b"\r\n\r\n")
            p = p._replace(payload=head + b"\r\n" + header.encode() + sep + body)
        out.append(p)
    return out


def analyse(packets: list[IpPacket], config: AnalyzerConfig | None = None) -> Run:
    return analyze_scenario(sorted(packets, key=lambda p: p.ts), config=config)


def record(packets: list[IpPacket], call_id: str = CALL_ID) -> CallRecord:
    return analyse(packets).call(call_id)


def codes(rec: CallRecord) -> list[str]:
    return [p.code for p in rec.problems]


def details(rec: CallRecord, code: str) -> list[str]:
    return [p.detail for p in rec.problems if p.code == code]


__all__ = [
    "ANSWER",
    "CALL_ID",
    "QUIET",
    "T0",
    "ULAW",
    "VOICE",
    "Call",
    "IpPacket",
    "MediaOpts",
    "Party",
    "replace",
]
