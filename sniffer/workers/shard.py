"""Which worker holds which UDP flow: the one split rule, as a kernel (BPF) filter and in Python.

A UDP datagram whose payload starts like RTP or RTCP version 2 (first byte ``10xxxxxx``) is
held by one worker alone: :func:`flow_hash` of the sum of both addresses and both halved ports,
modulo the number of workers. Halving the ports keeps RTP (even port) and its RTCP (port + 1)
together, and the sum is the same both ways: every packet of a media session between two
endpoints, both directions, RTP and RTCP, reaches one worker, which therefore holds all the
statistics the RTCP matching needs (RTT from SR and RR). The sum goes through a multiplicative
mix (32-bit, as BPF computes): media ports and addresses are handed out in strides (SBC port
ranges, ``a_port = base + 2 i``), which a plain sum or XOR modulo 2 would send to one worker. Everything
else (SIP on any port and transport, whose first byte is an ASCII letter; fragments; tunnels;
VLAN tags; IPv6) reaches every worker: SIP must, so each knows every call's SDP, and what is
encapsulated is split after decoding by :func:`flow_owner`, in the process.

The kernel filter only sheds load: a worker's own test (:func:`flow_owner` on every new UDP
flow that is not SIP) decides what it keeps, so a packet both filters let through is never
counted twice.
"""

from __future__ import annotations

import math
import os

from db.settings.base import AUTO_WORKERS_FILE_MB, AUTO_WORKERS_MAX

PLAIN_RTP_BPF = "ip and udp and ip[6:2] & 0x3fff = 0 and udp[8] & 0xc0 = 0x80"
"""Plain (untagged IPv4, not a fragment) UDP whose payload looks like RTP/RTCP version 2."""
MIX = 73244475
"""0x45d9f3b: the multiplier of a 32-bit integer finaliser (x ^= x >> 16; x *= MIX; x ^= x >> 16)."""
_M32 = 0xFFFFFFFF
_SUM_BPF = "(ip[12:4] + ip[16:4] + (udp[0:2] >> 1) + (udp[2:2] >> 1))"
_MIXED_BPF = f"(({_SUM_BPF} ^ ({_SUM_BPF} >> 16)) * {MIX})"
HASH_BPF = f"({_MIXED_BPF} ^ ({_MIXED_BPF} >> 16))"
""":func:`flow_hash` in libpcap's filter language (it has no variables: terms repeat)."""


_IPV4 = b"\x08\x00"
_IP_AT = {1: 14, 113: 16, 276: 20, 12: 0, 101: 0, 228: 0}
"""Offset of the IP header per link type (Ethernet, Linux cooked v1/v2, raw IP)."""
_ETHERTYPE_AT = {1: 12, 113: 14, 276: 0}


def is_plain_rtp(linktype: int, frame: bytes) -> bool:
    """Whether :data:`PLAIN_RTP_BPF` matches ``frame`` (only part of the workers get it)."""
    ip = _IP_AT.get(linktype)
    if ip is None:
        return False
    et = _ETHERTYPE_AT.get(linktype)
    if et is not None and frame[et : et + 2] != _IPV4:
        return False
    if len(frame) < ip + 20 or frame[ip] >> 4 != 4 or frame[ip + 9] != 17:
        return False
    if (frame[ip + 6] << 8 | frame[ip + 7]) & 0x3FFF:
        return False
    payload = ip + (frame[ip] & 0x0F) * 4 + 8
    return len(frame) > payload and frame[payload] & 0xC0 == 0x80


def _fold(ip: bytes) -> int:
    """An address as 32 bits: IPv4 as is; IPv6 (never split by the kernel filter) summed."""
    if len(ip) == 4:
        return int.from_bytes(ip, "big")
    return sum(int.from_bytes(ip[i : i + 4], "big") for i in range(0, len(ip), 4)) & _M32


def flow_hash(src: bytes, dst: bytes, sport: int, dport: int) -> int:
    """The 32-bit hash of a UDP flow, the same both ways and for RTP and its RTCP; equal to
    :data:`HASH_BPF` for IPv4."""
    x = (_fold(src) + _fold(dst) + (sport >> 1) + (dport >> 1)) & _M32
    x = ((x ^ (x >> 16)) * MIX) & _M32
    return x ^ (x >> 16)


def flow_owner(src: bytes, dst: bytes, sport: int, dport: int, workers: int) -> int:
    """The worker holding the UDP flow (either direction)."""
    return flow_hash(src, dst, sport, dport) % workers


def share_bpf(index: int, workers: int) -> str:
    """The capture filter of worker ``index``: its plain RTP/RTCP, and all the rest."""
    if not 0 <= index < workers:
        raise ValueError(f"worker {index} of {workers}")
    return f"not ({PLAIN_RTP_BPF}) or {HASH_BPF} % {workers} = {index}"


def with_share(bpf: str | None, index: int, workers: int) -> str | None:
    """``bpf`` (None: everything) narrowed to worker ``index``'s share; unchanged for one."""
    if workers <= 1:
        return bpf
    share = share_bpf(index, workers)
    return share if not bpf else f"({bpf}) and ({share})"


CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
"""cgroup v2 CPU limit of this process's group (a container's ``--cpus``, a pod's
``limits.cpu``): ``"<quota> <period>"`` or ``"max <period>"``."""


def cores(cpu_max: str = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on, and no more than its cgroup's CPU limit allows."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    try:
        with open(cpu_max) as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 limit readable: the affinity alone
        pass
    return n


def sniff_workers(setting: int) -> int:
    """Workers of a live sensor for ``analysis.workers`` (0: the cores, capped)."""
    return setting or min(cores(), AUTO_WORKERS_MAX)


def analyze_workers(setting: int, capture_bytes: int, n_cores: int | None = None) -> int:
    """Workers of an ``analyze`` run (0: one below :data:`AUTO_WORKERS_FILE_MB`, else a worker
    per core but the parent's, capped, when that makes two or more). Every worker reads the
    whole file and parses all the SIP, and the parent builds the records: with two cores, two
    workers took the wall time of one process for 1.9x its CPU (docs/BENCHMARKS.md), so
    they pay only where the parent has a core of its own."""
    if setting:
        return setting
    n = min((cores() if n_cores is None else n_cores) - 1, AUTO_WORKERS_MAX)
    if capture_bytes < AUTO_WORKERS_FILE_MB << 20 or n < 2:
        return 1
    return n
