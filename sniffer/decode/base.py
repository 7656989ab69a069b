"""State shared by the decoder layers and the signatures of their entry points.

Every layer method works on ``data[off:end]`` without slicing and returns the datagrams found
(usually the shared empty list :data:`NONE`). ``frames`` is None while ``data`` is the captured
frame itself (``self._frame`` at ``self._ts``), else the frames an IP or TCP reassembly used.
"""

from collections.abc import Callable

from .datagram import Datagram

NONE: list[Datagram] = []
"""Shared "nothing to deliver" result: callers must not mutate it."""

Frames = list[tuple[float, bytes]]
Vlan = int | None
Layer = Callable[[bytes, int, int, Vlan, str, int, Frames | None], list[Datagram]]
"""(data, off, end, vlan, encap, depth, frames) -> datagrams: a layer below IP."""
IpLayer = Callable[[bytes, int, int, bytes, bytes, Vlan, str, int, Frames | None], list[Datagram]]
"""(data, off, end, src, dst, vlan, encap, depth, frames) -> datagrams: a layer above IP."""
Pieces = list[tuple[int, Frames]]
"""(capture order, frames) of the segments behind a reassembled message."""


def ordered_frames(pieces: Pieces) -> Frames:
    """The frames of ``pieces`` in capture order, each once."""
    if len(pieces) == 1:
        return list(pieces[0][1])
    pieces.sort(key=lambda p: p[0])
    out: Frames = []
    seen: set[int] = set()
    for _, fr in pieces:
        for f in fr:
            if id(f) not in seen:
                seen.add(id(f))
                out.append(f)
    return out


class DecoderBase:
    """Configuration, counters and per-call scratch state of :class:`~.decoder.Decoder`."""

    _cnt: dict[str, int]
    _ts: float
    _frame: bytes
    _max_depth: int
    _hep_ports: frozenset[int]
    _vxlan_ports: frozenset[int]
    _tzsp_ports: frozenset[int]

    def _count(self, reason: str) -> list[Datagram]:
        """Count ``reason`` and return :data:`NONE`."""
        c = self._cnt
        c[reason] = c.get(reason, 0) + 1
        return NONE

    # The layers' entry points, implemented by the mixins of Decoder (l2, ip, transport,
    # sctp, tunnels) and called across them; declared here with their exact signatures.
    _ethernet: Layer
    _ppp: Layer
    _ipv4: Layer
    _ipv6: Layer
    _gre: Layer
    _ethertype: Callable[[int, bytes, int, int, Vlan, str, int, Frames | None], list[Datagram]]
    _ip_any: Layer
    _udp: IpLayer
    _sctp: Callable[[bytes, int, int, bytes, bytes, Vlan, str, Frames | None], list[Datagram]]
    _tcp: Callable[[bytes, int, int, bytes, bytes, Vlan, str, Frames | None], list[Datagram]]
    _udp_tunnel: Callable[
        [bytes, int, int, bytes, int, bytes, int, Vlan, str, int, Frames | None],
        list[Datagram] | None,
    ]
    """Decapsulate a UDP payload on a tunnel port; None when it is not a tunnel after all."""
