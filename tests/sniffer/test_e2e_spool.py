"""End to end: per-call pcaps written by the Analyzer through :class:`CallPcapSpool` hold
exactly the frames of their call - every SIP frame, and (depending on the mode) every RTP and
RTCP frame, whole or cut after the RTP header - each once, with its capture timestamp, and
every file opens in tshark."""

from __future__ import annotations

import gzip
import re
import socket
import struct
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import dpkt
import pytest

from db.records import CallRecord
from db.settings import SpoolMode
from sniffer.analyzer import TICK_S
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.spool.spool import CallPcapSpool
from tests.pcapgen import (
    ETH_P_IP,
    IPPROTO_UDP,
    IpPacket,
    Scenario,
    encapsulate,
    ethernet,
    fragment_ipv4,
    ipv4,
    udp,
)
from tests.pcapgen.encap import EncapOptions
from tests.sniffer.e2e import Run, analyze_frames, multi_call_scenario, new_analyzer
from tests.sniffer.golden import GOLDEN

LINGER_S = AnalyzerConfig().linger_s
RTP_HEADERS_CAPLEN = 14 + 20 + 8 + 12
"""Ethernet + IPv4 + UDP + a 12-byte RTP header (no CSRC, no extension)."""
MODES = [
    (SpoolMode.SIP_RTP, False),
    (SpoolMode.SIP_RTP, True),
    (SpoolMode.SIP, False),
    (SpoolMode.SIP, True),
    (SpoolMode.RTP_HEADERS, False),
    (SpoolMode.RTP_HEADERS, True),
]
_CALL_ID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)")

Rec = tuple[int, int, int, bytes]
"""A pcap record read back: (timestamp in µs, incl_len, orig_len, data)."""
Kind = str
"""``sip``, ``rtp`` or ``rtcp``."""


def read_pcap(path: Path) -> tuple[int, list[Rec]]:
    """Link type and records of a little-endian microsecond pcap (gzip or not)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    magic, _maj, _min, _tz, _sig, _snap, linktype = struct.unpack_from("<IHHiIII", raw)
    assert magic == 0xA1B2C3D4
    out: list[Rec] = []
    pos = 24
    while pos < len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
        pos += 16
        out.append((sec * 1_000_000 + usec, incl, orig, raw[pos : pos + incl]))
        assert len(out[-1][3]) == incl, f"{path}: truncated record"
        pos += incl
    return linktype, out


def tshark_opens(paths: Sequence[Path]) -> None:
    """``tshark -r f -c 1`` exits 0 for every file (run concurrently)."""
    procs = [
        (p, subprocess.Popen(["tshark", "-r", str(p), "-c", "1"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE))
        for p in paths
    ]  # fmt: skip
    for p, proc in procs:
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"tshark cannot read {p}: {err.decode(errors='replace')}"


def expected_records(frames: Iterable[tuple[float, bytes, Kind]], mode: SpoolMode) -> list[Rec]:
    """What a call's file must hold, in capture order, for ``mode``."""
    out: list[Rec] = []
    for ts, frame, kind in frames:
        us = round(ts * 1e6)
        if mode == SpoolMode.SIP and kind != "sip":
            continue
        if mode == SpoolMode.RTP_HEADERS and kind == "rtp":
            out.append((us, RTP_HEADERS_CAPLEN, len(frame), frame[:RTP_HEADERS_CAPLEN]))
        else:  # SIP always whole; RTCP whole (it has no voice to cut)
            out.append((us, len(frame), len(frame), frame))
    return out


def run_with_spool(
    root: Path, linktype: int, frames: list[tuple[float, bytes]], mode: SpoolMode, gz: bool
) -> Run:
    with CallPcapSpool(root, linktype, mode=mode, gzip=gz, flush_bytes=4096) as spool:
        run = analyze_frames(linktype, frames, spool=spool)
    return run


def check_files(
    root: Path,
    run: Run,
    linktype: int,
    per_call: dict[str, list[tuple[float, bytes, Kind]]],
    mode: SpoolMode,
    gz: bool,
) -> None:
    """Every call has a file holding exactly its expected frames; nothing else was written."""
    calls = run.calls
    assert sorted(calls) == sorted(per_call)
    paths = []
    for cid, rec in calls.items():
        assert rec.pcap is not None and rec.pcap.endswith(".pcap.gz" if gz else ".pcap")
        path = root / rec.pcap
        paths.append(path)
        lt, got = read_pcap(path)
        assert lt == linktype
        want = expected_records(per_call[cid], mode)
        dupes = [r for r, n in Counter((r[0], r[3]) for r in got).items() if n > 1]
        assert not dupes, f"{cid}: frames written twice"
        missing = [r for r in want if r not in got]
        extra = [r for r in got if r not in want]
        assert (missing, extra) == ([], []), f"{cid}: {len(missing)} missing, {len(extra)} extra"
        assert got == want, f"{cid}: not in capture order"
        if mode == SpoolMode.SIP:
            assert all(b"SIP/2.0" in r[3] for r in got)
    written = sorted(p for p in root.rglob("*") if p.is_file())
    assert written == sorted(paths)
    tshark_opens(paths)


# -- synthetic capture ----------------------------------------------------------------------


def owners(scen: Scenario) -> list[tuple[str | None, Kind]]:
    """For each packet of the scenario: the Call-ID of the call it belongs to (None for
    REGISTER/MESSAGE...) and its kind."""
    media: dict[tuple[str, int, str, int], str] = {}
    for t in scen.calls:
        for s in t.streams:
            media[(s.src_ip, s.src_port, s.dst_ip, s.dst_port)] = t.call_id
            media[(s.src_ip, s.src_port + 1, s.dst_ip, s.dst_port + 1)] = t.call_id
    calls = {t.call_id for t in scen.calls}
    out: list[tuple[str | None, Kind]] = []
    for p in scen.packets:
        if p.kind == "sip":
            m = _CALL_ID.search(p.payload)
            assert m is not None
            cid = m.group(1).decode()
            out.append((cid if cid in calls else None, "sip"))
        else:
            key = (p.src, p.sport, p.dst, p.dport)
            assert key in media, f"{p} belongs to no call"
            out.append((media[key], p.kind))
    return out


def per_call_frames(
    scen: Scenario, frames: list[tuple[float, bytes]], counts: list[int]
) -> dict[str, list[tuple[float, bytes, Kind]]]:
    """Group ``frames`` (``counts[i]`` consecutive frames for packet ``i``) by call."""
    assert len(frames) == sum(counts)
    out: dict[str, list[tuple[float, bytes, Kind]]] = {t.call_id: [] for t in scen.calls}
    pos = 0
    for (cid, kind), n in zip(owners(scen), counts, strict=True):
        if cid is not None:
            out[cid] += [(ts, f, kind) for ts, f in frames[pos : pos + n]]
        pos += n
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "gz"), MODES)
def test_call_files_hold_exactly_the_frames_of_their_call(
    tmp_path: Path, mode: SpoolMode, gz: bool
) -> None:
    scen = multi_call_scenario()
    linktype, frames = encapsulate(scen.packets)
    per_call = per_call_frames(scen, frames, [1] * len(frames))
    assert sum(1 for fs in per_call.values() for _ts, _f, k in fs if k == "rtcp") > 0
    run = run_with_spool(tmp_path, linktype, frames, mode, gz)
    check_files(tmp_path, run, linktype, per_call, mode, gz)


def test_fragmented_sip_frames_all_land_in_the_call_file(tmp_path: Path) -> None:
    scen = multi_call_scenario()
    mtu = 300
    linktype, frames = encapsulate(scen.packets, "frag", EncapOptions(mtu=mtu))
    counts = [_fragments(p, mtu) for p in scen.packets]
    assert sum(c > 1 for c in counts) > scen.sip_count() // 2  # most SIP is fragmented
    per_call = per_call_frames(scen, frames, counts)
    run = run_with_spool(tmp_path, linktype, frames, SpoolMode.SIP_RTP, False)
    check_files(tmp_path, run, linktype, per_call, SpoolMode.SIP_RTP, False)


def _fragments(p: IpPacket, mtu: int) -> int:
    if p.kind != "sip":
        return 1
    ip = ipv4(p.src, p.dst, IPPROTO_UDP, udp(p.sport, p.dport, p.payload, src=p.src, dst=p.dst))
    return len(fragment_ipv4(ip, mtu))


def test_rtp_headers_mode_keeps_csrcs_and_extension(tmp_path: Path) -> None:
    """An RTP header with 2 CSRCs and a 1-word extension is kept whole (12 + 8 + 8 bytes)."""
    scen = multi_call_scenario()
    linktype, frames = encapsulate(scen.packets)
    c1 = next(t for t in scen.calls if t.call_id == "c1@e2e")
    st = next(s for s in c1.streams if s.direction == "caller")
    extra = []
    for k in range(3):
        rtp = (struct.pack("!BBHII", 0x92, 0, 60000 + k, 999 + 160 * k, 0x0BADCAFE)
               + struct.pack("!II", 1, 2) + struct.pack("!HHI", 0xBEDE, 1, 0) + b"\xff" * 160)  # fmt: skip
        ip = ipv4(st.src_ip, st.dst_ip, IPPROTO_UDP,
                  udp(st.src_port, st.dst_port, rtp, src=st.src_ip, dst=st.dst_ip))  # fmt: skip
        extra.append((st.expected.first_ts + 0.5 + 0.02 * k + 0.001, ethernet(ip, ETH_P_IP)))
    frames = sorted([*frames, *extra], key=lambda f: f[0])
    run = run_with_spool(tmp_path, linktype, frames, SpoolMode.RTP_HEADERS, False)
    rec = run.call("c1@e2e")
    assert rec.pcap is not None
    _lt, got = read_pcap(tmp_path / rec.pcap)
    cut = [r for r in got if r[3][42:43] == b"\x92"]
    assert [(r[1], r[2]) for r in cut] == [(42 + 28, len(extra[0][1]))] * 3
    assert any(s.ssrc == 0x0BADCAFE and s.packets == 3 for s in rec.streams)


# -- real capture ---------------------------------------------------------------------------

VOIPSHARK = GOLDEN / "sip_rtp_g711u_call_register_voipshark.pcap"


def _golden_per_call(calls: dict[str, CallRecord]) -> dict[str, list[tuple[float, bytes, Kind]]]:
    """Frames of each call in the real capture, found with dpkt: SIP by Call-ID, RTP by the
    4-tuples of the call's streams, RTCP by the same 4-tuples with both ports + 1."""
    media: dict[tuple[str, int, str, int], tuple[str, Kind]] = {}
    for cid, rec in calls.items():
        for s in rec.streams:
            media[(s.src_ip, s.src_port, s.dst_ip, s.dst_port)] = (cid, "rtp")
            media[(s.src_ip, s.src_port + 1, s.dst_ip, s.dst_port + 1)] = (cid, "rtcp")
    out: dict[str, list[tuple[float, bytes, Kind]]] = {cid: [] for cid in calls}
    with VOIPSHARK.open("rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(buf).data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.udp.UDP):
                continue
            u = ip.data
            key = (socket.inet_ntoa(ip.src), u.sport, socket.inet_ntoa(ip.dst), u.dport)
            if key in media:
                cid, kind = media[key]
                out[cid].append((ts, bytes(buf), kind))
            elif (m := _CALL_ID.search(bytes(u.data))) and m.group(1).decode() in calls:
                out[m.group(1).decode()].append((ts, bytes(buf), "sip"))
    return out


def test_golden_capture_tshark_agrees_on_the_frames(tmp_path: Path) -> None:
    """tshark's own view of the call frames (``sip || rtp || rtcp`` on the calls' addresses)
    has exactly as many frames as the dpkt reference used below."""
    run = new_analyzer(1)
    with VOIPSHARK.open("rb") as fh:
        run.analyzer.feed((ts, bytes(b)) for ts, b in dpkt.pcap.Reader(fh))
    run.analyzer.finish()
    per_call = _golden_per_call(run.calls)
    cids = " || ".join(f'sip.Call-ID == "{c}"' for c in run.calls)
    ports = " || ".join(
        f"(ip.addr == {s.src_ip} && udp.port == {p})"
        for rec in run.calls.values()
        for s in rec.streams
        for p in (s.src_port, s.src_port + 1)
    )
    out = subprocess.run(
        ["tshark", "-r", str(VOIPSHARK), "-Y", f"({cids}) || ((rtp || rtcp) && !icmp && ({ports}))",
         "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert len(out.split()) == sum(len(v) for v in per_call.values()) == 5435


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "gz"), [(SpoolMode.SIP_RTP, False), (SpoolMode.RTP_HEADERS, True),
                                          (SpoolMode.SIP, False)])  # fmt: skip
def test_golden_capture_call_files(tmp_path: Path, mode: SpoolMode, gz: bool) -> None:
    with VOIPSHARK.open("rb") as fh:
        frames = [(ts, bytes(b)) for ts, b in dpkt.pcap.Reader(fh)]
    run = run_with_spool(tmp_path, 1, frames, mode, gz)
    assert len(run.calls) == 2
    per_call = _golden_per_call(run.calls)
    assert all(len(v) > 2500 for v in per_call.values())
    # a call's file is closed LINGER_S after its last SIP message (the BYE's 200): later RTCP
    # (frame 5642, 8 s after) is not the call's any more
    for cid, frames_of in per_call.items():
        cutoff = max(ts for ts, _f, k in frames_of if k == "sip") + LINGER_S
        late = [f for f in frames_of if f[0] > cutoff]
        assert all(f[0] > cutoff + TICK_S for f in late)  # none in the reaper's 1 s window
        per_call[cid] = [f for f in frames_of if f[0] <= cutoff]
    assert sum(len(v) for v in per_call.values()) == 5435 - 1
    check_files(tmp_path, run, 1, per_call, mode, gz)
