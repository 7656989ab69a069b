"""The default capture filter of the sensor (:data:`DEFAULT_BPF`) and how it is built.

What a VoIP sensor must keep, and why the filter is not narrower:

* **all UDP**: RTP/RTCP ports are negotiated in SDP (dynamic), so no static port list can
  select them; SIP over UDP, HEP (9060), VXLAN (4789) and TZSP (37008) are UDP too.
* **SIP over TCP/SCTP** on the SIP TCP ports (``analysis.sip_tcp_ports``: 5060-5061 and 5080 by
  default; other TCP is not worth the kernel -> user copy).
* **tunnels whose payload BPF cannot see into cheaply**: GRE/ERSPAN (IP protocol 47), IP-in-IP
  (4) and IPv6-in-IP (41) are kept whole.
* **IPv6 fragments** (next header 44): a fragmented SIP INVITE has no UDP header to match.
* **in-band VLAN tags, MPLS labels, PPPoE**: on a live Linux capture the kernel strips the
  outermost VLAN tag before the filter runs (libpcap re-inserts it after), so the plain clauses
  above already match single-tagged traffic; the inner tag of QinQ, MPLS label stacks and
  PPPoE stay in the frame and need explicit offsets.

The libpcap ``vlan``/``mpls``/``pppoes`` keywords do not compile on Linux cooked captures
(``any``: "no VLAN support for Linux cooked v1") and shift the offsets of everything after
them, so encapsulations are matched with ``link[...]`` offsets instead, for each place the
link layer can put the EtherType: Ethernet (offset 12), Linux cooked SLL (14) and SLL2 (0).
On any other link type those clauses read unrelated bytes and at worst keep a stray frame,
which the decoder counts and drops.
"""

from collections.abc import Iterable

from db.settings import SIP_TCP_PORTS

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_MPLS = 0x8847
ETHERTYPE_PPPOE_SESSION = 0x8864
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
"""IEEE 802.1Q, IEEE 802.1ad, and the pre-standard QinQ 0x9100."""
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_IPV6_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_SCTP = 132

LINK_LAYOUTS = ((12, 14), (14, 16), (0, 20))
"""(EtherType offset, payload offset) for Ethernet, Linux cooked SLL and SLL2."""

MPLS_LABEL = 4
VLAN_TAG = 4
PPPOE_HDR = 6
PPP_PROTO = 2


Ranges = tuple[tuple[int, int], ...]
"""Inclusive port ranges."""


def port_ranges(ports: Iterable[int]) -> Ranges:
    """``[5080, 5060, 5061]`` -> ``((5060, 5061), (5080, 5080))``: consecutive ports merged."""
    out: list[list[int]] = []
    for p in sorted(set(ports)):
        if out and p == out[-1][1] + 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return tuple((lo, hi) for lo, hi in out)


def _ports(l4: str, ranges: Ranges) -> str:
    """Either port of the TCP/SCTP header at byte offset ``l4`` (an expression) is a SIP port."""
    clauses = []
    for port_off in (l4, f"{l4} + 2"):
        word = f"link[{port_off}:2]"
        for lo, hi in ranges:
            clauses.append(f"{word} = {lo}" if lo == hi else f"({word} >= {lo} and {word} <= {hi})")
    return " or ".join(clauses)


def _ipv4_at(off: int, r: Ranges) -> str:
    proto = f"link[{off + 9}]"
    keep = " or ".join(
        f"{proto} = {p}" for p in (IPPROTO_UDP, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6)
    )
    l4 = f"{off} + ((link[{off}] & 0xf) << 2)"
    first_fragment = f"link[{off + 6}:2] & 0x1fff = 0"
    stream = f"({proto} = {IPPROTO_TCP} or {proto} = {IPPROTO_SCTP})"
    return f"{keep} or ({stream} and {first_fragment} and ({_ports(l4, r)}))"


def _ipv6_at(off: int, r: Ranges) -> str:
    nh = f"link[{off + 6}]"
    keep = " or ".join(
        f"{nh} = {p}"
        for p in (IPPROTO_UDP, IPPROTO_GRE, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_IPV6_FRAGMENT)
    )
    stream = f"({nh} = {IPPROTO_TCP} or {nh} = {IPPROTO_SCTP})"
    return f"{keep} or ({stream} and ({_ports(str(off + 40), r)}))"


def _ip_by_type(type_off: int, off: int, r: Ranges) -> str:
    """An IP packet at ``off`` whose EtherType is at ``type_off``."""
    t = f"link[{type_off}:2]"
    return (
        f"({t} = {ETHERTYPE_IPV4:#06x} and ({_ipv4_at(off, r)}))"
        f" or ({t} = {ETHERTYPE_IPV6:#06x} and ({_ipv6_at(off, r)}))"
    )


def _ip_by_version(off: int, r: Ranges) -> str:
    """An IP packet at ``off`` recognised by its version nibble (after an MPLS label stack)."""
    v = f"link[{off}] & 0xf0"
    return f"({v} = 0x40 and ({_ipv4_at(off, r)})) or ({v} = 0x60 and ({_ipv6_at(off, r)}))"


def _encapsulated(type_off: int, payload: int, r: Ranges) -> str:
    """In-band VLAN tag, MPLS (one or two labels) or PPPoE session for one link layout."""
    t = f"link[{type_off}:2]"
    tagged = " or ".join(f"{t} = {tpid:#06x}" for tpid in VLAN_TPIDS)
    vlan = f"({tagged}) and ({_ip_by_type(payload + 2, payload + VLAN_TAG, r)})"
    bos1 = f"link[{payload + 2}] & 1 = 1"
    bos2 = f"link[{payload + MPLS_LABEL + 2}] & 1 = 1"
    mpls = (
        f"{t} = {ETHERTYPE_MPLS:#06x} and (({bos1} and ({_ip_by_version(payload + MPLS_LABEL, r)}))"
        f" or ({bos2} and ({_ip_by_version(payload + 2 * MPLS_LABEL, r)})))"
    )
    ppp = f"link[{payload + PPPOE_HDR}:2]"
    inner = payload + PPPOE_HDR + PPP_PROTO
    pppoe = (
        f"{t} = {ETHERTYPE_PPPOE_SESSION:#06x}"
        f" and (({ppp} = {PPP_IPV4:#06x} and ({_ipv4_at(inner, r)}))"
        f" or ({ppp} = {PPP_IPV6:#06x} and ({_ipv6_at(inner, r)})))"
    )
    return f"({vlan}) or ({mpls}) or ({pppoe})"


def build_default_bpf(sip_tcp_ports: Iterable[int] = SIP_TCP_PORTS) -> str:
    """The sensor's filter for these SIP TCP/SCTP ports (:data:`DEFAULT_BPF` for the default
    ones)."""
    r = port_ranges(sip_tcp_ports)
    plain = (
        f"udp or proto {IPPROTO_GRE} or proto {IPPROTO_IPIP} or proto {IPPROTO_IPV6}"
        f" or ip6 proto {IPPROTO_IPV6_FRAGMENT}"
        " or ((tcp or sctp) and ("
        + " or ".join(f"port {lo}" if lo == hi else f"portrange {lo}-{hi}" for lo, hi in r)
        + "))"
    )
    layered = " or ".join(f"({_encapsulated(t, p, r)})" for t, p in LINK_LAYOUTS)
    return f"{plain} or {layered}"


DEFAULT_BPF = build_default_bpf()
"""Capture filter of a VoIP sensor: see the module docstring for what it keeps and why."""
