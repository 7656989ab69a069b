"""Generate the benchmark load capture: many concurrent G.711 calls with known truth.

    python bench/gen_load.py OUT.pcap --calls 1000 --concurrent 1000 --packets 2000000 [--seed N]

Each call: INVITE/100/180/200/ACK with SDP, two 20 ms G.711 streams (PT 0 or 8, 172-byte RTP)
with ~0.5 % random loss (never the first or last packet) and small arrival jitter, RTCP SR every
5 s from each side, then BYE/200 from a random side. Call starts are staggered so about
``--concurrent`` calls overlap; every call has its own addresses and ports. The file is a plain
Ethernet/IPv4/UDP pcap (UDP checksum 0 on RTP/RTCP, valid on SIP), written tick by tick
(20 ms) from prebuilt per-stream header templates. ``OUT.pcap.truth.json`` holds per-call
truth: final code, times, and per stream packets / expected / lost / max and mean jitter
(Wireshark's recurrence on the written microsecond timestamps).
"""

import argparse
import json
import logging
import math
import random
import struct
import sys
import time
from bisect import bisect_left
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pcapgen import sip
from tests.pcapgen.frames import (
    ETH_P_IP,
    IPPROTO_UDP,
    ethernet,
    ipv4,
    mac_for_ip,
    udp,
)
from tests.pcapgen.rtp import ReportBlock, rtcp_sdes, rtcp_sr, silence
from tests.pcapgen.sdp import sdp
from tests.pcapgen.writer import pcap_header

log = logging.getLogger("gen_load")

TICK_US = 20_000
SAMPLES = 160
RTP_LEN = 12 + SAMPLES
FRAME_LEN = 14 + 20 + 8 + RTP_LEN
RTCP_INTERVAL_US = 5_000_000
REC = struct.Struct("<IIII").pack
PATCH_IDENT = struct.Struct(">H").pack_into
PATCH_RTP = struct.Struct(">BBHI").pack_into
CODECS = {0: "PCMU", 8: "PCMA"}
by_ts = itemgetter(0)


class Stream:
    """One RTP direction: frame template, position and running truth."""

    __slots__ = (
        "base_sum", "dport", "dst", "ident", "jitter", "max_jitter", "mean_jitter", "n", "nrecv",
        "peer", "prev_slot", "prev_us", "pt", "seq0", "slot", "sport", "src", "ssrc", "start_us",
        "tmpl", "ts0",
    )  # fmt: skip

    def __init__(
        self,
        src: str,
        sport: int,
        dst: str,
        dport: int,
        pt: int,
        n: int,
        start_us: int,
        rng: random.Random,
    ) -> None:
        self.src, self.sport, self.dst, self.dport, self.pt = src, sport, dst, dport, pt
        self.n, self.start_us, self.slot = n, start_us, 0
        self.ssrc, self.seq0, self.ts0 = (
            rng.getrandbits(32),
            rng.getrandbits(16),
            rng.getrandbits(32),
        )
        self.ident = rng.getrandbits(16)
        rtp = struct.pack(">BBHII", 0x80, pt, 0, 0, self.ssrc) + silence(pt, SAMPLES)
        dgram = struct.pack(">HHHH", sport, dport, 8 + RTP_LEN, 0) + rtp
        ip = bytearray(ipv4(src, dst, IPPROTO_UDP, dgram, ident=0))
        ip[10:12] = b"\x00\x00"
        self.base_sum = sum(struct.unpack(">10H", ip[:20]))
        self.tmpl = bytearray(ethernet(bytes(ip), ETH_P_IP, mac_for_ip(src), mac_for_ip(dst)))
        self.nrecv = 0
        self.jitter = self.max_jitter = self.mean_jitter = 0.0
        self.prev_us = self.prev_slot = -1
        self.peer: Stream | None = None

    def truth(self) -> dict[str, Any]:
        return {
            "src_ip": self.src,
            "src_port": self.sport,
            "dst_ip": self.dst,
            "dst_port": self.dport,
            "ssrc": self.ssrc,
            "payload_type": self.pt,
            "codec": CODECS[self.pt],
            "packets": self.nrecv,
            "expected": self.n,
            "lost": self.n - self.nrecv,
            "max_jitter_ms": round(self.max_jitter, 6),
            "mean_jitter_ms": round(self.mean_jitter, 6),
        }


def emit_tick(
    streams: list[Stream], loss: float, jit_us: int, rnd: Any, out: list[tuple[int, bytes]]
) -> None:
    """Append (arrival_us, frame) for the current slot of each stream; update its truth."""
    for st in streams:
        slot = st.slot
        st.slot = slot + 1
        if 0 < slot < st.n - 1 and rnd() < loss:
            continue
        t = st.start_us + slot * TICK_US + int((rnd() - 0.5) * 2 * jit_us)
        ident = (st.ident + slot) & 0xFFFF
        s = st.base_sum + ident
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        tmpl = st.tmpl
        PATCH_IDENT(tmpl, 18, ident)
        PATCH_IDENT(tmpl, 24, ~s & 0xFFFF)
        PATCH_RTP(tmpl, 42, 0x80, st.pt | (0x80 if slot == 0 else 0), (st.seq0 + slot) & 0xFFFF,
                  (st.ts0 + slot * SAMPLES) & 0xFFFFFFFF)  # fmt: skip
        out.append((t, bytes(tmpl)))
        n = st.nrecv
        if n:
            d = abs((t - st.prev_us) - (slot - st.prev_slot) * TICK_US) / 1000.0
            j = st.jitter = st.jitter + (d - st.jitter) / 16.0
            if j > st.max_jitter:
                st.max_jitter = j
            st.mean_jitter = (st.mean_jitter * (n - 1) + j) / n
        st.nrecv = n + 1
        st.prev_us, st.prev_slot = t, slot


def udp_frame(
    src: str, sport: int, dst: str, dport: int, payload: bytes, ident: int, csum: bool
) -> bytes:
    seg = udp(sport, dport, payload, src=src, dst=dst) if csum else udp(sport, dport, payload)
    return ethernet(
        ipv4(src, dst, IPPROTO_UDP, seg, ident=ident), ETH_P_IP, mac_for_ip(src), mac_for_ip(dst)
    )


def rtcp_frame(st: Stream, t_us: int) -> bytes:
    peer = st.peer
    blocks = []
    if peer is not None and peer.nrecv:
        highest = peer.seq0 + peer.prev_slot
        cum = peer.prev_slot + 1 - peer.nrecv
        blocks.append(ReportBlock(peer.ssrc, 0, cum, highest, int(peer.jitter * 8)))
    sent = st.slot
    data = rtcp_sr(st.ssrc, t_us / 1e6, st.ts0 + sent * SAMPLES, sent, sent * SAMPLES, blocks)
    data += rtcp_sdes(st.ssrc, f"load@{st.src}")
    return udp_frame(st.src, st.sport + 1, st.dst, st.dport + 1, data, st.ident ^ 0x5555, False)


class Plan:
    """All calls: SIP events (prebuilt frames), streams by start tick, RTCP schedule, truth."""

    def __init__(self, args: argparse.Namespace) -> None:
        rng = random.Random(args.seed)
        self.t0_us = 1_700_000_000_000_000
        slots = max(2, math.ceil(args.packets / args.calls / 2 / (1 - args.loss)))
        talk_s = slots * TICK_US / 1e6
        span_s = 1.25 + talk_s + 0.2
        stagger_us = int(span_s * 1e6 / max(1, args.concurrent))
        self.events: list[tuple[int, int, bytes | Stream]] = []
        self.starts: dict[int, list[Stream]] = {}
        self.calls: list[dict[str, Any]] = []
        self.intervals: list[tuple[int, int]] = []
        self.vary = 0.0
        for i in range(args.calls):
            self._call(
                i, rng, self.t0_us + i * stagger_us + rng.randrange(stagger_us // 2 + 1), slots
            )
        self.events.sort(key=lambda e: (e[0], e[1]))

    def _call(self, i: int, rng: random.Random, t0: int, slots: int) -> None:
        a_ip = f"10.1.{i // 250 % 250}.{i % 250 + 1}"
        b_ip = f"10.2.{i // 250 % 250}.{i % 250 + 1}"
        a_port, b_port = 20000 + 2 * (i % 20000), 40000 + 2 * (i % 12000)
        pt = rng.choice((0, 8))
        codecs = ((pt, CODECS[pt], 8000), (101, "telephone-event", 8000))
        call_id = f"load-{i:06d}-{rng.getrandbits(32):08x}@bench"
        # +-10 % call lengths, mirrored in pairs so the total stays at the target
        self.vary = rng.uniform(-0.1, 0.1) if i % 2 == 0 else -self.vary
        n = max(2, round(slots * (1 + self.vary)))
        ring_us = int(rng.uniform(0.5, 2.0) * 1e6)
        ans = t0 + 50_000 + ring_us
        ans -= ans % 1000
        inv = sip.invite(
            call_id,
            "caller",
            f"{1000 + i}",
            a_ip,
            b_ip,
            1,
            a_ip,
            a_port,
            codecs,
            via=f"{a_ip}:5060",
        )
        answer = sdp(b_ip, b_port, codecs, session_id=i + 1)
        ok = sip.response(inv, 200, sdp=answer, contact=f"<sip:{1000 + i}@{b_ip}:5060>")
        callee = Stream(b_ip, b_port, a_ip, a_port, pt, n, ans + 20_000, rng)
        caller = Stream(a_ip, a_port, b_ip, b_port, pt, n, ans + 30_000, rng)
        caller.peer, callee.peer = callee, caller
        end = max(s.start_us + (s.n - 1) * TICK_US for s in (caller, callee)) + 50_000
        by_caller = rng.random() < 0.5
        ftag, ttag = sip.token(call_id, "from-tag"), sip.token(call_id, "to-tag")
        if by_caller:
            bye = sip.bye(
                call_id, "caller", f"{1000 + i}", a_ip, b_ip, 2, ftag, ttag, via=f"{a_ip}:5060"
            )
        else:
            bye = sip.bye(
                call_id, f"{1000 + i}", "caller", b_ip, a_ip, 1, ttag, ftag, via=f"{b_ip}:5060"
            )
        fwd, rev = (a_ip, b_ip), (b_ip, a_ip)
        msgs = [
            (t0, fwd, inv),
            (t0 + 10_000, rev, sip.response(inv, 100)),
            (t0 + 50_000, rev, sip.response(inv, 180, contact=f"<sip:{1000 + i}@{b_ip}:5060>")),
            (ans, rev, ok),
            (ans + 15_000, fwd, sip.ack(inv, ok)),
            (end, fwd if by_caller else rev, bye),
            (end + 10_000, rev if by_caller else fwd, sip.response(bye, 200)),
        ]
        for k, (t, (s, d), m) in enumerate(msgs):
            self.events.append(
                (t, len(self.events), udp_frame(s, 5060, d, 5060, m, i * 8 + k, True))
            )
        for st in (callee, caller):
            self.starts.setdefault((st.start_us - self.t0_us) // TICK_US, []).append(st)
            t = st.start_us + RTCP_INTERVAL_US + 10_000
            while t < st.start_us + st.n * TICK_US:
                self.events.append((t, len(self.events), st))
                t += RTCP_INTERVAL_US
        self.intervals.append((t0, end + 10_000))
        self.calls.append(
            {
                "call_id": call_id,
                "caller": "caller",
                "called": f"{1000 + i}",
                "caller_ip": a_ip,
                "called_ip": b_ip,
                "invite_ts": t0 / 1e6,
                "answer_ts": ans / 1e6,
                "end_ts": end / 1e6,
                "final_code": 200,
                "hangup_by": "caller" if by_caller else "callee",
                "codecs": [CODECS[pt]],
                "sip_messages": len(msgs),
                "_streams": (caller, callee),
            }
        )


def generate(args: argparse.Namespace) -> dict[str, Any]:
    plan = Plan(args)
    jit_us = int(args.jitter_ms * 1000)
    rnd = random.Random(args.seed + 1).random
    rec = REC
    active: list[Stream] = []
    pending: list[tuple[int, bytes]] = []
    ev, ev_i = plan.events, 0
    count = 0
    last_tick = max(plan.starts) + max(s.n for ss in plan.starts.values() for s in ss) + 2
    with open(args.out, "wb", buffering=1 << 22) as f:
        f.write(pcap_header(1))
        for k in range(last_tick + 1):
            tick_end = plan.t0_us + (k + 1) * TICK_US
            active += plan.starts.get(k, ())
            emit_tick(active, args.loss, jit_us, rnd, pending)
            active = [s for s in active if s.slot < s.n]
            while ev_i < len(ev) and ev[ev_i][0] < tick_end:
                t, _, item = ev[ev_i]
                pending.append((t, item if isinstance(item, bytes) else rtcp_frame(item, t)))
                ev_i += 1
            pending.sort(key=by_ts)
            limit = tick_end - jit_us
            cut = len(pending) if k == last_tick else bisect_left(pending, limit, key=by_ts)
            buf = bytearray()
            for t, frame in pending[:cut]:
                sec, usec = divmod(t, 1_000_000)
                buf += rec(sec, usec, len(frame), len(frame))
                buf += frame
            f.write(buf)
            count += cut
            del pending[:cut]
    return {"packets": count, "plan": plan}


def peak_concurrency(intervals: list[tuple[int, int]]) -> int:
    marks = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    cur = peak = 0
    for _, d in marks:
        cur += d
        peak = max(peak, cur)
    return peak


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--concurrent", type=int, default=1000)
    p.add_argument("--packets", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--loss", type=float, default=0.005)
    p.add_argument("--jitter-ms", type=float, default=1.0, help="max arrival offset (uniform +-)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    res = generate(args)
    elapsed = time.perf_counter() - started
    plan: Plan = res["plan"]
    calls = []
    for c in plan.calls:
        streams = c.pop("_streams")
        calls.append({**c, "streams": [s.truth() for s in streams]})
    first = min(a for a, _ in plan.intervals) / 1e6
    last = max(b for _, b in plan.intervals) / 1e6
    summary = {
        "calls": len(calls),
        "packets": res["packets"],
        "rtp_packets": sum(s["packets"] for c in calls for s in c["streams"]),
        "rtp_lost": sum(s["lost"] for c in calls for s in c["streams"]),
        "peak_concurrent_calls": peak_concurrency(plan.intervals),
        "capture_duration_s": round(last - first, 3),
        "file_bytes": Path(args.out).stat().st_size,
        "generation_s": round(elapsed, 2),
        "seed": args.seed,
    }
    truth = {"summary": summary, "calls": calls}
    Path(args.out + ".truth.json").write_text(json.dumps(truth, indent=1))
    for k, v in summary.items():
        log.info("%-22s %s", k, v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
