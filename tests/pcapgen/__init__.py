"""Synthetic VoIP captures with known ground truth, for the sensor's tests and benchmarks.

Layers (each module is small and usable on its own):

* :mod:`.frames` - Ethernet, 802.1Q/QinQ, MPLS, IPv4/IPv6 (+ extension headers), UDP, TCP
  (valid checksums), Linux SLL/SLL2, NULL/LOOP, raw; :mod:`.fragment` - IPv4/IPv6
  fragmentation; :mod:`.tunnels` - GRE, ERSPAN II/III, VXLAN, TZSP, HEP3.
* :mod:`.sip` / :mod:`.sdp` - SIP requests and responses with SDP (compact forms, bare LF).
* :mod:`.rtp` - RTP, RFC 4733 events, RTCP SR/RR/SDES; :mod:`.stream` - impaired streams
  (:class:`RtpStreamSpec`) and their reference figures (:class:`RtpExpected`).
* :mod:`.scenario` - :class:`Call` (answered, cancelled, failed, challenged, re-INVITE, early
  media, DTMF, RTCP...); :mod:`.sipflows` - REGISTER, OPTIONS, MESSAGE. Both give a
  :class:`Scenario`: time-ordered :class:`IpPacket` s plus truth (:class:`CallTruth`...).
* :mod:`.encap` - :func:`encapsulate` a scenario for one of :data:`ENCAPSULATIONS`;
  :mod:`.writer` - pcap / pcapng files.

Examples::

    from tests.pcapgen import (ENCAPSULATIONS, Call, DtmfEvent, MediaOpts, Party,
        RtpStreamSpec, build_stream, encapsulate, merge, registration, sip, write_pcap)
    from tests.pcapgen.frames import (ETH_P_8021AD, ETH_P_IP, IPPROTO_UDP, ethernet, ipv4,
        qinq, udp)
    from tests.pcapgen.fragment import fragment_ipv4

    # An answered call with 2 lost packets and jitter on the caller's stream, then a
    # challenged REGISTER, written as Ethernet/VLAN/IPv4/UDP:
    call = Call(call_id="c1@test", caller_media=MediaOpts(loss=frozenset({5, 6}),
                jitter_ms={i: (i % 3 - 1) * 2.0 for i in range(100)}), dtmf="19")
    scen = merge(call.build(),
                 registration(Party("carol", "10.0.0.3"), Party("reg", "10.0.0.9"),
                              start=1_700_000_010.0))
    write_pcap(tmp_path / "call.pcap", *encapsulate(scen.packets, "vlan"))
    truth = scen.calls[0]          # CallTruth: final_code 200, state "completed", dtmf "19"
    caller = truth.streams[1].expected   # RtpExpected: lost == 2, max_jitter_ms, ...
    assert (truth.dtmf, caller.lost) == ("19", 2)

    # The same call over every encapsulation must give the same calls:
    for how in ENCAPSULATIONS:
        write_pcap(tmp_path / f"{how}.pcap", *encapsulate(scen.packets, how))

    # One RTP stream with a sequence wrap, a duplicate and a DTMF digit:
    packets, expected = build_stream(RtpStreamSpec(ssrc=1, start_seq=65500, count=100,
        duplicates=frozenset({10}), dtmf=(DtmfEvent("5", start=40),)))
    assert (expected.packets, expected.lost, expected.duplicates) == (101, -1, 1)

    # Hand-made frame: SIP over IPv4 fragments behind QinQ.
    ip = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP,
              udp(5060, 5060, sip.invite("x", "a", "b", "h1", "h2", sdp_ip="10.0.0.1",
                                         sdp_port=4000), src="10.0.0.1", dst="10.0.0.2"))
    frames = [ethernet(qinq(frag, ETH_P_IP, 200, 100), ETH_P_8021AD)
              for frag in fragment_ipv4(ip, 576)]
"""

from tests.pcapgen import sip
from tests.pcapgen.call_media import MediaOpts
from tests.pcapgen.encap import (
    ENCAPSULATIONS,
    EncapOptions,
    Encapsulated,
    encapsulate,
    ipv6_for,
    to_ipv6,
)
from tests.pcapgen.fragment import fragment_ipv4, fragment_ipv6
from tests.pcapgen.frames import (
    ETH_P_8021AD,
    ETH_P_8021Q,
    ETH_P_IP,
    ETH_P_IPV6,
    ETH_P_MPLS,
    ETH_P_TEB,
    IPPROTO_GRE,
    IPPROTO_IPIP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    checksum,
    ethernet,
    ipv4,
    ipv6,
    loop,
    mpls,
    null,
    qinq,
    raw,
    sll,
    sll2,
    tcp,
    udp,
    vlan,
)
from tests.pcapgen.rtp import ReportBlock, rtcp_rr, rtcp_sdes, rtcp_sr, rtp_packet, telephone_event
from tests.pcapgen.scenario import Call
from tests.pcapgen.sdp import DEFAULT_CODECS, Codec, sdp
from tests.pcapgen.sipflows import im_message, options_ping, registration
from tests.pcapgen.stream import DtmfEvent, RtpArrival, RtpExpected, RtpStreamSpec, build_stream
from tests.pcapgen.truth import (
    CallTruth,
    IpPacket,
    MessageTruth,
    OptionsTruth,
    Party,
    RegistrationTruth,
    RtcpTruth,
    Scenario,
    StreamTruth,
    merge,
)
from tests.pcapgen.tunnels import erspan2, erspan3, gre, hep3, parse_hep3, tzsp, vxlan
from tests.pcapgen.writer import write_pcap, write_pcapng

__all__ = [
    "DEFAULT_CODECS",
    "ENCAPSULATIONS",
    "ETH_P_8021AD",
    "ETH_P_8021Q",
    "ETH_P_IP",
    "ETH_P_IPV6",
    "ETH_P_MPLS",
    "ETH_P_TEB",
    "IPPROTO_GRE",
    "IPPROTO_IPIP",
    "IPPROTO_IPV6",
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_LOOP",
    "LINKTYPE_NULL",
    "LINKTYPE_RAW",
    "Call",
    "CallTruth",
    "Codec",
    "DtmfEvent",
    "EncapOptions",
    "Encapsulated",
    "IpPacket",
    "MediaOpts",
    "MessageTruth",
    "OptionsTruth",
    "Party",
    "RegistrationTruth",
    "ReportBlock",
    "RtcpTruth",
    "RtpArrival",
    "RtpExpected",
    "RtpStreamSpec",
    "Scenario",
    "StreamTruth",
    "build_stream",
    "checksum",
    "encapsulate",
    "erspan2",
    "erspan3",
    "ethernet",
    "fragment_ipv4",
    "fragment_ipv6",
    "gre",
    "hep3",
    "im_message",
    "ipv4",
    "ipv6",
    "ipv6_for",
    "loop",
    "merge",
    "mpls",
    "null",
    "options_ping",
    "parse_hep3",
    "qinq",
    "raw",
    "registration",
    "rtcp_rr",
    "rtcp_sdes",
    "rtcp_sr",
    "rtp_packet",
    "sdp",
    "sip",
    "sll",
    "sll2",
    "tcp",
    "telephone_event",
    "to_ipv6",
    "tzsp",
    "udp",
    "vlan",
    "vxlan",
    "write_pcap",
    "write_pcapng",
]
