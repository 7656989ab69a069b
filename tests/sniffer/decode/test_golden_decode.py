"""The decoder over every real capture in tests/data/golden/, checked against tshark 4.0."""

import collections
import json
import re
from pathlib import Path

import pcap
import pytest

from db.settings import SIP_TCP_PORTS
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram
from sniffer.decode.decoder import Decoder
from sniffer.sip.framing import looks_like_sip

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
FILES = sorted(p.name for p in GOLDEN.iterdir() if p.suffix in (".pcap", ".pcapng"))
CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
EXPECTED_NONVOIP = frozenset({"decode.non_ip", "decode.icmp", "decode.tcp_not_sip"})
"""The only counters allowed on the nonvoip_* tunnel captures (ARP/CDP/STP, ICMP, HTTP)."""


def run(
    name: str, sip_tcp_ports: frozenset[int] = frozenset(SIP_TCP_PORTS)
) -> tuple[list[Datagram], Counters, Decoder]:
    c = Counters()
    dec = Decoder(c, sip_tcp_ports=sip_tcp_ports)
    p = pcap.pcap(str(GOLDEN / name))
    lt = p.datalink()
    out: list[Datagram] = []
    for ts, buf in p:
        out.extend(dec.decode(lt, ts, bytes(buf)))
    return out, c, dec


def sip_only(dgs: list[Datagram]) -> list[Datagram]:
    return [d for d in dgs if looks_like_sip(d.payload)]


@pytest.mark.parametrize("name", FILES)
def test_decodes_and_matches_tshark_per_call_id(name: str) -> None:
    """No internal error; consistent frames/offsets; SIP messages per Call-ID as tshark counts
    them (tshark_sip.json; HEP figures from the corpus' HEP3 decoder)."""
    dgs, c, _ = run(name, sip_tcp_ports=frozenset({*SIP_TCP_PORTS, 6060}))
    assert c["decode.internal_error"] == 0
    got: collections.Counter[str] = collections.Counter()
    for d in dgs:
        assert d.frames and d.frames[-1][0] == d.ts
        assert [f[0] for f in d.frames] == sorted(f[0] for f in d.frames) or d.encap.startswith(
            "hep"
        )
        if d.payload_offset >= 0:
            frame = d.frames[-1][1]
            assert frame[d.payload_offset : d.payload_offset + len(d.payload)] == d.payload
        if looks_like_sip(d.payload):
            m = CALL_ID.search(d.payload)
            assert m is not None
            got[m.group(1).decode()] += 1
    ref = json.loads((GOLDEN / "tshark_sip.json").read_text()).get(name, [])
    assert dict(got) == {r["call_id"]: r["messages"] for r in ref}


@pytest.mark.parametrize("name", [f for f in FILES if f.startswith("nonvoip_")])
def test_nonvoip_tunnels_have_no_error_counters(name: str) -> None:
    _, c, _ = run(name)
    assert set(c) <= EXPECTED_NONVOIP | {"decode.frag_pending", "decode.frag_reassembled"}


def test_gre_teb_mirror_140_sip() -> None:
    dgs, c, _ = run("sip_gre_teb_mirror.pcapng")
    sips = sip_only(dgs)
    assert len(sips) == len(dgs) == 140
    assert {d.encap for d in sips} == {"gre"}
    assert all(d.payload_offset > 14 + 20 + 8 + 14 + 20 + 8 - 1 for d in sips)
    assert c.snapshot() == {}


def test_vlan_gre_ppp_single_packet() -> None:
    (d,), c, _ = run("sip_vlan_gre_ppp_single_packet.pcapng")
    assert d.payload.startswith(b"SIP/2.0 100 Trying")
    assert b"AI1737AB5491ADC392@192.168.103.40" in d.payload
    assert (d.vlan, d.encap, d.transport) == (142, "gre", 17)
    assert c.snapshot() == {}


def test_ipv6_fragmented_invites_reassembled() -> None:
    dgs, c, _ = run("sip_ipv6_fragmented_sll.pcap")
    assert len(sip_only(dgs)) == len(dgs) == 32
    reassembled = [d for d in dgs if len(d.frames) > 1]
    assert len(reassembled) == 2
    for d in reassembled:
        assert d.payload.startswith(b"INVITE ") and d.payload_offset == -1 and len(d.frames) == 2
        assert len(d.src) == 16
    assert c["decode.frag_reassembled"] == 2


def test_dns_fragments_reassemble_like_tshark() -> None:
    """tshark reassembles 7 UDP datagrams (4 IPv4, 3 IPv6) and dissects 39 UDP datagrams."""
    dgs, _c, dec = run("nonvoip_ipv4_ipv6_udp_fragments_dns.pcap")
    assert len(dgs) == 39
    re4 = [d for d in dgs if len(d.frames) == 2 and len(d.src) == 4]
    re6 = [d for d in dgs if len(d.frames) == 2 and len(d.src) == 16]
    assert len(re4) == 4 and len(re6) == 3
    # UDP lengths tshark reports for the reassembled datagrams, minus the 8-byte header
    assert sorted(len(d.payload) for d in re4 + re6) == sorted(
        x - 8 for x in (1710, 1509, 1498, 1498, 1710, 1738, 1738)
    )
    assert dec.stats()["frag_sets"] == 0


def test_tcp6060_segmented_406_messages() -> None:
    dgs, c, _ = run("sip_tcp6060_segmented_avaya_486_cancel.pcap", sip_tcp_ports=frozenset({6060}))
    assert len(dgs) == 406 and all(d.transport == 6 for d in dgs)
    assert any(len(d.frames) > 1 for d in dgs)
    multi = next(d for d in dgs if len(d.frames) > 1)
    assert multi.payload_offset == -1 and multi.ts == multi.frames[-1][0]
    assert c.snapshot() == {}


def test_tcp6060_found_by_content_without_port() -> None:
    dgs, _, _ = run("sip_tcp6060_segmented_avaya_486_cancel.pcap")
    assert len(dgs) == 406


def test_tcp_call_7_and_ipip_4() -> None:
    dgs, _, _ = run("sip_tcp_call_rtp_rtcp.pcap")
    assert len([d for d in dgs if d.transport == 6]) == 7
    dgs, _, _ = run("sip_tcp_in_ipip.pcap")
    assert len(dgs) == 4 and all(d.transport == 6 for d in dgs)
    assert sorted(d.encap for d in dgs) == ["", "", "ipip", "ipip"]


def test_tcp_register_retransmission_not_doubled() -> None:
    dgs, c, _ = run("sip_tcp_register_retrans_sll.pcap")
    assert len([d for d in dgs if d.transport == 6]) == 4
    assert len([d for d in dgs if d.transport == 17]) == 4
    assert c["decode.tcp_retransmission"] == 1


def test_websocket_messages() -> None:
    """tshark (HTTP upgrade followed) dissects 11 SIP messages over WebSocket, 28 over UDP."""
    dgs, _, _ = run("sip_websocket_and_udp.pcap")
    ws = [d for d in dgs if d.transport == 6]
    assert len(ws) == 11 and {d.encap for d in ws} == {"ws"}
    assert len([d for d in dgs if d.transport == 17]) == 28
    client = [d for d in ws if d.sport == 43380]
    assert [d.payload.split(b" ", 1)[0] for d in client] == [
        b"INVITE",
        b"ACK",
        b"INVITE",
        b"ACK",
        b"BYE",
    ]
    assert all(d.payload_offset == -1 for d in client)  # masked client frames
    assert any(d.payload_offset >= 0 for d in ws if d.sport == 8080)


def test_hep3_files() -> None:
    dgs, c, _ = run("hep3_sip_rtcp_log_hepgen.pcap")
    assert len(dgs) == 6 and {d.encap for d in dgs} == {"hep3"}
    assert c["decode.hep_type_5"] == 1 and c["decode.hep_type_100"] == 1
    d = dgs[0]
    assert d.ts == pytest.approx(1481455196.0001) and d.vlan is None
    dgs, c, _ = run("hep3_zlib_register_sll.pcapng")
    assert len(dgs) == 21 and all(d.payload.startswith((b"REGISTER", b"SIP/2.0")) for d in dgs)


def test_hep_synthesized_frame_decodes_back() -> None:
    """The frame stored for a HEP-delivered message is plain Ethernet/IP/UDP carrying it."""
    dgs, _, _ = run("hep3_zlib_register_sll.pcapng")
    for d in dgs:
        ts, frame = d.frames[0]
        (back,) = Decoder(Counters()).decode(1, ts, frame)
        assert (back.src, back.sport, back.dst, back.dport, back.payload) == (
            d.src,
            d.sport,
            d.dst,
            d.dport,
            d.payload,
        )
        assert back.payload_offset == d.payload_offset


def test_sctp_four_sip() -> None:
    dgs, _c, _ = run("sip_sctp_sll_403.pcap")
    assert len(dgs) == 4 and all(d.transport == 132 for d in dgs)
    invite = dgs[0]
    assert (
        invite.payload.startswith(b"INVITE ")
        and len(invite.frames) == 2
        and invite.payload_offset == -1
    )


def test_icmp_quoted_sip_is_not_sip() -> None:
    dgs, c, _ = run("sip_invite_scan_icmp_quoted.pcap")
    assert len(sip_only(dgs)) == 40
    assert c["decode.icmp"] == 5


def test_erspan_and_vxlan_nesting() -> None:
    dgs, c, _ = run("nonvoip_gre_erspan_vxlan_nested_http.pcap")
    assert dgs == [] and c["decode.tcp_not_sip"] == 7
    dgs, c, _ = run("nonvoip_qinq_ipip_udp.pcap")
    assert len(dgs) == 5 and {(d.vlan, d.encap, d.dport) for d in dgs} == {(505, "ipip", 17000)}
