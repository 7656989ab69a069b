"""The split rule: the kernel filter and the Python owner agree, both ways of a flow and RTP
with its RTCP go to one worker, and generated media spreads over the workers."""

from __future__ import annotations

import socket
import struct
from collections import Counter
from pathlib import Path

import pcap
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniffer.workers.shard import (
    analyze_workers,
    cores,
    flow_owner,
    is_plain_rtp,
    share_bpf,
    sniff_workers,
    with_share,
)
from tests.pcapgen.frames import ETH_P_IP, IPPROTO_UDP, ethernet, ipv4, mac_for_ip, udp
from tests.pcapgen.writer import pcap_header

ips = st.binary(min_size=4, max_size=4) | st.binary(min_size=16, max_size=16)
ports = st.integers(0, 65535)


@given(ips, ips, ports, ports, st.integers(1, 64))
def test_owner_is_the_same_both_ways_and_for_rtcp(
    src: bytes, dst: bytes, sport: int, dport: int, n: int
) -> None:
    owner = flow_owner(src, dst, sport, dport, n)
    assert 0 <= owner < n
    assert flow_owner(dst, src, dport, sport, n) == owner
    rtp_s, rtp_d = sport & ~1, dport & ~1
    assert flow_owner(src, dst, rtp_s, rtp_d, n) == flow_owner(src, dst, rtp_s + 1, rtp_d + 1, n)


def _frame(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    ip = ipv4(src, dst, IPPROTO_UDP, udp(sport, dport, payload))
    return ethernet(ip, ETH_P_IP, mac_for_ip(src), mac_for_ip(dst))


def _write(path: Path, frames: list[bytes]) -> None:
    with path.open("wb") as f:
        f.write(pcap_header(1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)))
            f.write(frame)


def _flows(count: int) -> list[tuple[str, str, int, int]]:
    out = []
    for i in range(count):  # addresses and ports in strides, as SBCs hand them out
        a = f"10.1.{i // 250 % 250}.{i % 250 + 1}"
        b = f"10.2.{i // 250 % 250}.{i % 250 + 1}"
        out.append((a, b, 20000 + 2 * i, 40000 + 2 * i))
        out.append((b, a, 40000 + 2 * i + 1, 20000 + 2 * i + 1))  # the RTCP back
    return out


@pytest.mark.parametrize("n", [2, 3, 5])
def test_kernel_filter_equals_python_owner(tmp_path: Path, n: int) -> None:
    flows = _flows(300)
    rtp = b"\x80\x00" + bytes(10) + bytes(160)
    frames = [_frame(*f, rtp) for f in flows]
    frames.append(_frame("10.9.9.9", "10.9.9.8", 5060, 5060, b"INVITE sip:x SIP/2.0\r\n\r\n"))
    frames.append(_frame("10.9.9.9", "10.9.9.8", 3478, 3478, b"\x00\x01" + bytes(18)))
    path = tmp_path / "flows.pcap"
    _write(path, frames)
    kept: list[set[int]] = []
    for k in range(n):
        p = pcap.pcap(str(path))
        p.setfilter(share_bpf(k, n))
        kept.append({int(ts) - 1_700_000_000 for ts, _ in p})
    for i, (src, dst, sport, dport) in enumerate(flows):
        owner = flow_owner(socket.inet_aton(src), socket.inet_aton(dst), sport, dport, n)
        assert [k for k in range(n) if i in kept[k]] == [owner], (i, src, sport, dst, dport)
    for i in (len(flows), len(flows) + 1):  # SIP and what is not RTP reach every worker
        assert all(i in kept[k] for k in range(n))
    assert [is_plain_rtp(1, f) for f in frames] == [True] * len(flows) + [False, False]
    shares = Counter(
        flow_owner(socket.inet_aton(s), socket.inet_aton(d), sp, dp, n) for s, d, sp, dp in flows
    )
    assert min(shares.values()) > len(flows) / n * 0.7, shares


def test_with_share() -> None:
    assert with_share("udp", 0, 1) == "udp"
    assert with_share(None, 1, 2) == share_bpf(1, 2)
    assert with_share("udp", 1, 2) == f"(udp) and ({share_bpf(1, 2)})"
    with pytest.raises(ValueError):
        share_bpf(2, 2)


def test_automatic_counts() -> None:
    assert sniff_workers(3) == 3
    assert sniff_workers(0) == min(cores(), 8)
    assert analyze_workers(0, 1000) == 1
    assert analyze_workers(4, 10) == 4
    big = 200 << 20
    assert analyze_workers(0, big - 1, 16) == 1  # a small file: one process
    # a large file: a worker per core but the parent's, from 2 workers on, at most 8
    assert [analyze_workers(0, big, n) for n in (1, 2, 3, 4, 9, 24)] == [1, 1, 2, 3, 8, 8]
    here = min(cores() - 1, 8) if cores() > 2 else 1
    assert analyze_workers(0, 1 << 40) == here


def test_cores_follow_a_cgroup_cpu_limit(tmp_path: Path) -> None:
    limit = tmp_path / "cpu.max"
    every = cores(str(tmp_path / "absent"))
    limit.write_text("max 100000\n")
    assert cores(str(limit)) == every
    limit.write_text("150000 100000\n")  # --cpus 1.5: two workers
    assert cores(str(limit)) == min(every, 2)
    limit.write_text("20000 100000\n")  # a fifth of a core: still one
    assert cores(str(limit)) == 1
    limit.write_text("garbage\n")
    assert cores(str(limit)) == every
