"""The slow-path packet decoder: any supported link type, tunnels, fragments, TCP/WebSocket
and HEP, down to :class:`~.datagram.Datagram` objects.

Every layer parses ``struct.unpack_from`` on the captured bytes at an offset; bytes are copied
only for a delivered payload, a fragment or TCP data kept for reassembly.

Counter reasons (all ``decode.``-prefixed): expected traffic ``non_ip``, ``icmp``,
``ip_proto_<n>``, ``tcp_not_sip``, ``tcp_tls``, ``hep_type_<n>``; progress ``frag_pending``,
``frag_reassembled``, ``tcp_out_of_order``, ``sctp_frag_pending``; damage ``truncated_<layer>``,
``<layer>_bad_<field>``, ``unknown_linktype_<n>``, ``gre_unknown_proto_0x<hex>``,
``frag_overlap|duplicate|inconsistent|expired|evicted``, ``tcp_retransmission|gap|resync|
framing_error|buffer_overflow|stream_evicted|stream_expired|incomplete_message``, ``ws_*``,
``tunnel_too_deep``; ``internal_error`` only for a decoder bug (logged once).
"""

import logging
from collections.abc import Iterable

from db.settings import SIP_TCP_PORTS, DecoderSettings

from ..counters import Counters
from .base import NONE
from .datagram import Datagram
from .fragments import FragmentTable
from .ip import IpLayer
from .l2 import L2Layer
from .sctp import SctpLayer
from .tcp import TcpStreams
from .transport import TransportLayer
from .tunnels import TunnelLayer

log = logging.getLogger(__name__)


class Decoder(L2Layer, IpLayer, TransportLayer, SctpLayer, TunnelLayer):
    """Stateful decoder (fragment sets and TCP streams persist between calls).

    ``decode`` never raises: each frame that yields nothing is counted in ``counters`` under a
    ``decode.*`` reason. Time is the capture time; call :meth:`expire` periodically. Ports and
    limits come from the ``decoder`` section of the settings (db/settings.py).
    """

    def __init__(
        self,
        counters: Counters,
        limits: DecoderSettings | None = None,
        *,
        sip_tcp_ports: Iterable[int] = SIP_TCP_PORTS,
    ) -> None:
        lim = limits if limits is not None else DecoderSettings()
        self.counters = counters
        self._cnt = counters.data
        self._hep_ports = frozenset(lim.hep_ports)
        self._vxlan_ports = frozenset(lim.vxlan_ports)
        self._tzsp_ports = frozenset(lim.tzsp_ports)
        self._tunnel_ports = self._hep_ports | self._vxlan_ports | self._tzsp_ports
        self._max_depth = lim.max_tunnel_depth
        self._frags = FragmentTable(self._cnt, lim.frag_max_bytes, lim.frag_timeout_s)
        self._streams = TcpStreams(
            self._cnt,
            frozenset(sip_tcp_ports),
            lim.tcp_max_streams,
            lim.tcp_max_buffer_bytes,
            lim.tcp_max_ooo_segments,
            lim.tcp_idle_timeout_s,
        )
        self._sctp_partials = {}
        self._sctp_max_message = lim.tcp_max_buffer_bytes
        self._frag_timeout = lim.frag_timeout_s
        self._ts = 0.0
        self._frame = b""
        self._logged_error = False

    def decode(self, linktype: int, ts: float, frame: bytes) -> list[Datagram]:
        """Datagrams completed by this frame (the shared empty list when none: do not mutate)."""
        self._ts = ts
        self._frame = frame
        try:
            return self._link(linktype, frame)
        except Exception:  # a decoder bug must not stop the capture
            self._count("decode.internal_error")
            if not self._logged_error:
                self._logged_error = True
                log.exception(
                    "decoder error on a %d-byte frame (link type %d)", len(frame), linktype
                )
            return NONE

    def expire(self, now_ts: float) -> None:
        """Drop fragment sets and idle TCP streams older than their timeouts (capture time)."""
        self._frags.expire(now_ts)
        self._streams.expire(now_ts)
        self._sctp_expire(now_ts, self._frag_timeout)

    def stats(self) -> dict[str, int]:
        """Pending fragments and TCP streams, for monitoring."""
        return {
            "frag_sets": self._frags.pending_sets,
            "frag_bytes": self._frags.pending_bytes,
            "tcp_streams": self._streams.streams,
            "tcp_buffered_bytes": self._streams.buffered_bytes,
            "sctp_partial_messages": len(self._sctp_partials),
        }
