"""UDP and TCP (header only; streams are reassembled by :mod:`.tcp`)."""

from struct import unpack_from

from .base import DecoderBase, Frames
from .datagram import UDP, Datagram
from .tcp import TcpStreams

UDP_HDR = 8
TCP_MIN_HDR = 20


class TransportLayer(DecoderBase):
    """UDP datagrams and TCP segments into ``self._streams``."""

    _streams: TcpStreams
    _tunnel_ports: frozenset[int]

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
        if end - off < UDP_HDR:
            return self._count("decode.truncated_udp")
        sport, dport, ulen = unpack_from("!HHH", data, off)
        if ulen == 0:  # IPv6 jumbogram / offload
            ulen = end - off
        elif ulen < UDP_HDR:
            return self._count("decode.udp_bad_length")
        elif off + ulen > end:
            return self._count("decode.truncated_udp")
        p = off + UDP_HDR
        end = off + ulen
        if dport in self._tunnel_ports or sport in self._vxlan_ports:
            got = self._udp_tunnel(data, p, end, src, sport, dst, dport, vlan, encap, depth, frames)
            if got is not None:
                return got
        if frames is None:
            return [
                Datagram(
                    UDP,
                    src,
                    sport,
                    dst,
                    dport,
                    data[p:end],
                    vlan,
                    self._ts,
                    [(self._ts, self._frame)],
                    p,
                    encap,
                )
            ]
        return [
            Datagram(UDP, src, sport, dst, dport, data[p:end], vlan, self._ts, frames, -1, encap)
        ]

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
        if end - off < TCP_MIN_HDR:
            return self._count("decode.truncated_tcp")
        sport, dport, seq, doff_flags = unpack_from("!HHI4xH", data, off)
        doff = (doff_flags >> 12) << 2
        if doff < TCP_MIN_HDR:
            return self._count("decode.tcp_bad_offset")
        if off + doff > end:
            return self._count("decode.truncated_tcp")
        return self._streams.segment(
            self._ts,
            self._frame,
            frames,
            src,
            sport,
            dst,
            dport,
            seq,
            doff_flags & 0x3F,
            data,
            off + doff,
            end,
            vlan,
            encap,
        )
