"""Every encapsulation of one scenario gives tshark the same SIP and RTP, with good checksums."""

import re
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from sniffer.sip.framing import message_length
from tests.pcapgen import sip
from tests.pcapgen import tunnels as tn
from tests.pcapgen.call_media import MediaOpts
from tests.pcapgen.encap import ENCAPSULATIONS, EncapOptions, encapsulate, ipv6_for, to_ipv6
from tests.pcapgen.reader import read_capture, tshark
from tests.pcapgen.scenario import Call
from tests.pcapgen.sipflows import registration
from tests.pcapgen.truth import Party, Scenario, merge
from tests.pcapgen.writer import write_pcap

T0 = 1_700_000_000.0
VARIANTS: dict[str, tuple[str, EncapOptions]] = {
    how: (how, EncapOptions()) for how in ENCAPSULATIONS
}
VARIANTS["tcp-shuffle-coalesce"] = (
    "tcp",
    EncapOptions(tcp_shuffle=True, tcp_coalesce=True, seed=3),
)
VARIANTS["tcp-1400-coalesce"] = ("tcp", EncapOptions(tcp_segment=1400, tcp_coalesce=True))
VARIANTS["hep3-zlib"] = ("hep3", EncapOptions(hep_compress=True))
TSHARK_OPTS = (
    "-o", "rtp.heuristic_rtp:TRUE", "-o", "tcp.reassemble_out_of_order:TRUE",
    "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
)  # fmt: skip


class Copy(NamedTuple):
    path: Path
    shift: float
    seen: "Seen"


class Seen(NamedTuple):
    frames: int
    sip: int
    rtp: int
    bad_checksums: int


def scenario() -> Scenario:
    return merge(
        Call(call_id="e1", talk_s=1.0, dtmf="5", rtcp=True, rtcp_interval_s=0.5,
             caller_media=MediaOpts(loss=frozenset({3}))).build(),
        Call(call_id="e2", start=T0 + 0.2, challenge=True, outcome="cancelled",
             caller=Party("x", "10.0.1.1"), callee=Party("y", "10.0.1.2")).build(),
        Call(call_id="e3", start=T0 + 0.4, reinvite="hold", talk_s=1.0, hangup_by="callee",
             caller=Party("u", "10.0.2.1", rtp_port=30000), callee=Party("v", "10.0.2.2")).build(),
        registration(Party("carol", "10.0.0.3"), Party("reg", "10.0.0.9"), T0 + 0.1),
    )  # fmt: skip


SHIFT = 1000.0
"""Variants sharing a link type go into one file, each shifted by ``SHIFT`` s, so tshark runs
once per file (TCP variants get their own file: the same connection twice would look like
retransmissions)."""


def observe(path: Path) -> dict[int, Seen]:
    """Per copy index (time shift), what tshark decodes."""
    out = tshark(path, *TSHARK_OPTS, "-T", "fields", "-E", "separator=/t", "-e", "frame.time_epoch",
                 "-e", "sip.CSeq", "-e", "rtp.seq", "-e", "ip.checksum.status",
                 "-e", "udp.checksum.status", "-e", "tcp.checksum.status")  # fmt: skip
    acc: dict[int, list[int]] = {}
    for line in out.splitlines():
        ts, cseq, seq, *status = (line.split("\t") + [""] * 6)[:6]
        a = acc.setdefault(int((float(ts) - T0 + 10) // SHIFT), [0, 0, 0, 0])
        a[0] += 1
        a[1] += len(cseq.split(",")) if cseq else 0
        a[2] += len(seq.split(",")) if seq else 0
        a[3] += any("0" in x.split(",") for x in status)
    return {k: Seen(*v) for k, v in acc.items()}


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Copy]:
    base = tmp_path_factory.mktemp("encap")
    packets = scenario().packets
    files: dict[str, list[tuple[str, int, list[tuple[float, bytes]]]]] = {}
    for name, (how, opts) in VARIANTS.items():
        linktype, frames = encapsulate(packets, how, opts)
        key = name if how == "tcp" else f"lt{linktype}"
        group = files.setdefault(key, [])
        shift = SHIFT * len(group)
        group.append((name, linktype, [(t + shift, x) for t, x in frames]))
    paths = {}
    for key, group in files.items():
        paths[key] = base / f"{key}.pcap"
        write_pcap(paths[key], group[0][1], [fr for _, _, frames in group for fr in frames])
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(paths, pool.map(observe, paths.values()), strict=True))
    return {
        name: Copy(paths[key], SHIFT * k, results[key].get(k, Seen(0, 0, 0, 0)))
        for key, group in files.items()
        for k, (name, _, _) in enumerate(group)
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_same_sip_and_rtp_everywhere(seen: dict[str, Copy], name: str) -> None:
    scen = scenario()
    n_rtp = sum(1 for p in scen.packets if p.kind == "rtp")
    path, shift, got = seen[name]
    assert got.frames > 0 and got.bad_checksums == 0
    assert got.rtp == n_rtp
    if VARIANTS[name][0] == "hep3":
        assert got.sip == 0  # tshark 4.0 has no HEP dissector: check the HEP payloads ourselves
        expected = [(p.ts + shift, p.payload) for p in scen.packets if p.kind == "sip"]
        assert hep_sip(path, shift) == expected
    else:
        assert got.sip == scen.sip_count() == 7 + 10 + 10 + 4


def hep_sip(path: Path, shift: float) -> list[tuple[float, bytes]]:
    """(frame ts, SIP payload) of the HEP3 packets of the copy shifted by ``shift``; the HEP
    timestamp chunks must give the unshifted frame time."""
    out = []
    for ts, frame in read_capture(path).frames:
        if abs(ts - T0 - shift) > SHIFT / 2 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        if frame[36:38] == struct.pack("!H", tn.HEP_PORT):
            c = tn.parse_hep3(frame[42:])
            sec = struct.unpack("!I", c[tn.HEP_CHUNK_TS_SEC])[0]
            usec = struct.unpack("!I", c[tn.HEP_CHUNK_TS_USEC])[0]
            assert sec + usec / 1e6 == pytest.approx(ts - shift, abs=1e-6)
            out.append((ts, c[tn.HEP_CHUNK_PAYLOAD]))
    return out


@pytest.mark.slow
def test_linktypes_and_fragments(seen: dict[str, Copy]) -> None:
    lt = {name: read_capture(c.path).linktype for name, c in seen.items()}
    assert (lt["sll"], lt["sll2"], lt["raw"], lt["null"], lt["loop"], lt["plain"]) == (
        113,
        276,
        101,
        0,
        108,
        1,
    )
    plain, frag = seen["plain"].seen, seen["frag"].seen
    assert frag.frames > plain.frames and seen["tcp"].seen.frames > plain.frames
    _, frames = encapsulate(scenario().packets, "frag")
    assert max(len(x) for _, x in frames) <= 14 + 576


def test_ipv6_rewrite_keeps_sip_consistent(tmp_path: Path) -> None:
    scen = scenario()
    v6 = to_ipv6(scen.packets)
    v4_literal = re.compile(rb"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
    for p in v6:
        assert ":" in p.src and ":" in p.dst
        if p.kind == "sip":
            assert message_length(p.payload) == len(p.payload)
            assert not v4_literal.search(p.payload)
    invite = v6[0].payload
    assert f"c=IN IP6 {ipv6_for('10.0.0.1')}".encode() in invite
    assert sip.parse(invite).get("Call-ID") == "e1"
    path = tmp_path / "v6.pcap"
    write_pcap(path, *encapsulate(scen.packets, "ipv6"))
    # SDP-driven RTP decoding (no heuristics) works only if the rewritten SDP matches the flows.
    out = tshark(path, "-Y", "rtp", "-T", "fields", "-e", "rtp.seq")
    assert len(out.split()) == sum(1 for p in scen.packets if p.kind == "rtp")


def test_unknown_encapsulation() -> None:
    with pytest.raises(ValueError, match="unknown encapsulation 'ppp'"):
        encapsulate([], "ppp")
