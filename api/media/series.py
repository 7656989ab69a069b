"""Per-second figures of each RTP stream, for graphs: packets, expected, lost, interarrival
jitter (RFC 3550 A.8, in the codec clock) and the largest packet gap, from the pcap."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from api.media.rtp import RtpPacket

CLOCK_RATES = {"OPUS": 48000, "L16": 44100, "G7221": 16000, "SPEEX": 8000, "ILBC": 8000}
"""RTP clock rates that are not 8000 Hz (G.722's is 8000 by RFC 3551's historical error)."""


def clock_rate(codec: str) -> int:
    return CLOCK_RATES.get(codec.upper().split("/")[0], 8000)


@dataclass(slots=True)
class SecondFigures:
    t: int
    """Start of the second (epoch seconds, capture time)."""
    packets: int = 0
    expected: int = 0
    lost: int = 0
    jitter_ms_max: float = 0.0
    jitter_ms_mean: float = 0.0
    max_delta_ms: float = 0.0
    _jsum: float = field(default=0.0, repr=False)


def per_second(packets: Sequence[RtpPacket], codec: str, payload_type: int) -> list[SecondFigures]:
    """One entry per second from the first to the last packet (seconds with no packet are
    present, with zero packets: a graph shows the gap)."""
    if not packets:
        return []
    rate = clock_rate(codec)
    start = math.floor(packets[0].arrival)
    stop = math.floor(packets[-1].arrival)
    if stop - start > 24 * 3600:
        stop = start + 24 * 3600
    rows = [SecondFigures(t) for t in range(start, stop + 1)]
    jitter = 0.0
    prev_transit: float | None = None
    prev_arrival: float | None = None
    highest: int | None = None  # extended sequence number
    for p in packets:
        idx = math.floor(p.arrival) - start
        if not 0 <= idx < len(rows):
            continue
        row = rows[idx]
        row.packets += 1
        # expected: how far the highest extended sequence number moved in this second
        if highest is None:
            highest = p.seq
            row.expected += 1
        else:
            diff = (p.seq - (highest & 0xFFFF)) & 0xFFFF
            if 0 < diff < 0x8000:
                highest += diff
                row.expected += diff
        if prev_arrival is not None:
            row.max_delta_ms = max(row.max_delta_ms, (p.arrival - prev_arrival) * 1000.0)
        prev_arrival = p.arrival
        if p.payload_type == payload_type:
            transit = p.arrival * rate - p.timestamp
            if prev_transit is not None:
                d = abs(transit - prev_transit)
                if d < 0x7FFFFFFF:  # a timestamp jump (new talk spurt after a wrap) is skipped
                    jitter += (d - jitter) / 16.0
            prev_transit = transit
        j_ms = jitter * 1000.0 / rate
        row.jitter_ms_max = max(row.jitter_ms_max, j_ms)
        row._jsum += j_ms
    for row in rows:
        row.lost = max(0, row.expected - row.packets)
        row.jitter_ms_mean = row._jsum / row.packets if row.packets else 0.0
        row.max_delta_ms = round(row.max_delta_ms, 3)
        row.jitter_ms_max = round(row.jitter_ms_max, 3)
        row.jitter_ms_mean = round(row.jitter_ms_mean, 3)
    return rows
