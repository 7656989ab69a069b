"""SIP over TCP: turn whole-message :class:`IpPacket` s into TCP segments.

One connection per unordered endpoint pair (both directions share it); the first message's
sender is the client. A three-way handshake precedes the first message (3, 2 and 1 ms before
it). Each message is cut into ``segment``-byte pieces that all carry the message's timestamp,
so a message is complete exactly at its scenario time. ``shuffle`` permutes the pieces of each
message (out-of-order delivery, deterministic from ``seed``); ``coalesce`` moves the head of
the next message in the same direction (if sent within ``coalesce_window`` s) into the last
piece of the previous one, keeping at least one byte of it for its own time, so segments
carry bytes of two messages.
"""

import random
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

from tests.pcapgen.frames import TCP_ACK, TCP_PSH, TCP_SYN
from tests.pcapgen.truth import IpPacket

Endpoint = tuple[str, int]


class TcpSegment(NamedTuple):
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes


@dataclass
class _Conn:
    client: Endpoint
    server: Endpoint
    next_seq: dict[Endpoint, int] = field(default_factory=dict)


def _isn(ep: Endpoint) -> int:
    return zlib.crc32(f"{ep[0]}:{ep[1]}".encode()) & 0x7FFFFFFF


def tcp_segments(
    packets: list[IpPacket],
    segment: int = 200,
    shuffle: bool = False,
    coalesce: bool = False,
    coalesce_window: float = 0.5,
    seed: int = 0,
) -> list[list[TcpSegment]]:
    """Segments of each TCP message of ``packets`` (in order; the first message of a
    connection gets the handshake before its data segments)."""
    rng = random.Random(seed)
    conns: dict[frozenset[Endpoint], _Conn] = {}
    groups: list[list[TcpSegment]] = []
    msgs = [p for p in packets if p.transport == "tcp"]
    # pieces[i] = list of byte strings of message i (after coalescing)
    pieces: list[list[bytes]] = []
    for m in msgs:
        data = m.payload
        pieces.append([data[i : i + segment] for i in range(0, len(data), segment)])
    if coalesce:
        _coalesce(msgs, pieces, segment, coalesce_window)
    for m, parts in zip(msgs, pieces, strict=True):
        out: list[TcpSegment] = []
        groups.append(out)
        src, dst = (m.src, m.sport), (m.dst, m.dport)
        key = frozenset((src, dst))
        conn = conns.get(key)
        if conn is None:
            conn = conns[key] = _Conn(src, dst, {src: _isn(src), dst: _isn(dst)})
            c, s = conn.client, conn.server
            ic, is_ = conn.next_seq[c], conn.next_seq[s]
            out.append(TcpSegment(m.ts - 0.003, *c, *s, ic, 0, TCP_SYN, b""))
            out.append(TcpSegment(m.ts - 0.002, *s, *c, is_, ic + 1, TCP_SYN | TCP_ACK, b""))
            out.append(TcpSegment(m.ts - 0.001, *c, *s, ic + 1, is_ + 1, TCP_ACK, b""))
            conn.next_seq = {c: ic + 1, s: is_ + 1}
        seqs = []
        for part in parts:
            seqs.append((conn.next_seq[src], part))
            conn.next_seq[src] += len(part)
        order = list(range(len(seqs)))
        if shuffle and len(order) > 1:
            while order == sorted(order):
                rng.shuffle(order)
        ack = conn.next_seq[dst]
        for i in order:
            seq, part = seqs[i]
            flags = TCP_ACK | (TCP_PSH if i == len(seqs) - 1 else 0)
            out.append(TcpSegment(m.ts, *src, *dst, seq, ack, flags, part))
    return groups


def _coalesce(msgs: list[IpPacket], pieces: list[list[bytes]], segment: int, window: float) -> None:
    last_by_dir: dict[tuple[Endpoint, Endpoint], int] = {}
    for i, m in enumerate(msgs):
        d = ((m.src, m.sport), (m.dst, m.dport))
        prev = last_by_dir.get(d)
        last_by_dir[d] = i
        if prev is None or m.ts - msgs[prev].ts > window or not pieces[i]:
            continue
        tail = pieces[prev][-1]
        room = segment - len(tail)
        total = sum(len(p) for p in pieces[i])
        take = min(room, total - 1)
        if take <= 0:
            continue
        data = b"".join(pieces[i])
        pieces[prev][-1] = tail + data[:take]
        rest = data[take:]
        pieces[i] = [rest[j : j + segment] for j in range(0, len(rest), segment)]
