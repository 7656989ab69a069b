"""State shared by the decoder layers and the signatures of their entry points.

Every layer method works on ``data[off:end]`` without slicing and returns the datagrams found
(usually the shared empty list :data:`NONE`). ``frames`` is None while ``data`` is the captured
frame itself (``self._frame`` at ``self._ts``), else the frames an IP or TCP reassembly used.
"""

from .datagram import Datagram

NONE: list[Datagram] = []
"""Shared "nothing to deliver" result: callers must not mutate it."""

Frames = list[tuple[float, bytes]]
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

    def _ethernet(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _ethertype(
        self,
        etype: int,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _ppp(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _ip_any(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _ipv4(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _ipv6(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _gre(
        self,
        data: bytes,
        off: int,
        end: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _udp(
        self,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        dst: bytes,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _sctp(
        self,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        dst: bytes,
        vlan: int | None,
        encap: str,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError

    def _udp_tunnel(
        self,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        vlan: int | None,
        encap: str,
        depth: int,
        frames: Frames | None,
    ) -> list[Datagram] | None:
        """Decapsulate a UDP payload on a tunnel port; None when it is not a tunnel after all."""
        raise NotImplementedError

    def _tcp(
        self,
        data: bytes,
        off: int,
        end: int,
        src: bytes,
        dst: bytes,
        vlan: int | None,
        encap: str,
        frames: Frames | None,
    ) -> list[Datagram]:
        raise NotImplementedError
