"""The unit the decoder hands to the analyzer: one transport payload with its raw frames."""

from dataclasses import dataclass
from typing import NamedTuple

UDP = 17
TCP = 6
SCTP = 132


@dataclass(slots=True)
class Datagram:
    """One UDP payload, one complete SIP message from a TCP/WebSocket stream, or one SCTP DATA
    chunk payload, with the captured frames it came from (for the per-call pcap writer)."""

    transport: int
    """17 UDP, 6 TCP (one complete reassembled SIP message), 132 SCTP (one DATA chunk payload)."""
    src: bytes
    """Packed IPv4 (4 bytes) / IPv6 (16 bytes) source of the innermost IP header."""
    sport: int
    dst: bytes
    dport: int
    payload: bytes
    vlan: int | None
    """802.1Q VLAN id nearest to the innermost IP header: for QinQ the inner C-tag; a tag seen
    outside a tunnel is kept unless a tag (or an ERSPAN VLAN field) inside the tunnel replaces
    it. None for HEP-delivered messages (the HEP transport's VLAN says nothing about them)."""
    ts: float
    """Capture time of the frame that completed this datagram (HEP: the HEP timestamp)."""
    frames: list[tuple[float, bytes]]
    """The raw captured frames ``(ts, frame)`` that make it up, in capture order: one for a plain
    packet, all fragments of a reassembled one, every TCP segment carrying bytes of the message.
    HEP: one synthesized Ethernet/IP/UDP frame carrying the payload."""
    payload_offset: int
    """Offset of ``payload`` inside ``frames[-1][1]`` when it is contiguous there, else -1."""
    encap: str
    """"" for plain, else the tunnel chain outermost first, e.g. ``"gre"``, ``"erspan2"``,
    ``"gre/vxlan"``, ``"ipip"``, ``"hep3"``, ``"tzsp"``; ``"ws"`` is appended for SIP carried
    over WebSocket."""


class Decoded(NamedTuple):
    """A transport payload someone else took out of its packet (a HEP agent reports the SIP
    it saw with its endpoints and capture time): what
    :meth:`sniffer.analyzer.Analyzer.feed_decoded` takes. The per-call pcap gets a synthesized
    Ethernet/IP/UDP frame carrying it (:func:`sniffer.decode.hep.synth_udp_frame`). The fields
    mean what :class:`Datagram`'s of the same names do; ``ts`` is the capture time at the
    origin (the HEP timestamp), ``src`` and ``dst`` are of one address family."""

    ts: float
    transport: int
    src: bytes
    sport: int
    dst: bytes
    dport: int
    payload: bytes
    encap: str = "hep3"
