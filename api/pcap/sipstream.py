"""SIP messages out of a capture: UDP datagrams, TCP streams (reassembled, framed by
Content-Length; WebSocket frames after an HTTP upgrade), SCTP DATA chunks and HEP3 packets.

A message's time is the capture time of the packet that completes it (for HEP, the HEP
timestamp), as the sensor records it."""

import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from api.pcap import sipmsg
from api.pcap.capfile import CaptureFile
from api.pcap.layers import Datagram, Decapsulator

HEP3_MAGIC = b"HEP3"
HEP_SIP = 1
MAX_STREAM_BUFFER = 1 << 20
"""Bytes kept per TCP direction while a message is incomplete; beyond, the stream resyncs."""
MAX_OUT_OF_ORDER = 64
WS_OPCODES_DATA = (0x1, 0x2)


@dataclass(frozen=True, slots=True)
class SipEvent:
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    transport: str
    message: sipmsg.SipMessage
    frames: tuple[int, ...]


class _TcpStream:
    __slots__ = ("buf", "frames", "next_seq", "pending", "ws", "ws_buf")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.frames: list[int] = []
        self.next_seq: int | None = None
        self.pending: dict[int, tuple[bytes, tuple[int, ...]]] = {}
        self.ws = False
        self.ws_buf = bytearray()


class SipExtractor:
    """Feed :class:`Datagram` objects in capture order; get :class:`SipEvent` objects back."""

    def __init__(self) -> None:
        self._tcp: dict[tuple[str, int, str, int], _TcpStream] = {}
        self._ws_flows: set[tuple[str, int, str, int]] = set()
        self.errors = 0

    def feed(self, d: Datagram) -> list[SipEvent]:
        if d.transport == "tcp":
            return self._tcp_segment(d)
        if d.payload[:4] == HEP3_MAGIC:
            ev = self._hep(d)
            return [ev] if ev is not None else []
        return self._messages(d, d.payload, d.frames)

    def _messages(self, d: Datagram, data: bytes, frames: tuple[int, ...]) -> list[SipEvent]:
        out: list[SipEvent] = []
        if not sipmsg.looks_like_sip(data):
            return out
        pos = 0
        while pos < len(data):
            chunk = data[pos:]
            end, term = sipmsg.header_end(chunk)
            clen = sipmsg.content_length(chunk[:end]) if end >= 0 else None
            size = len(chunk) if end < 0 or clen is None else min(len(chunk), end + term + clen)
            self._emit(out, d, chunk[:size], frames)
            pos += size
            nxt = sipmsg.find_start(data, pos)
            if nxt < 0:
                break
            pos = nxt
        return out

    def _emit(
        self,
        out: list[SipEvent],
        d: Datagram,
        raw: bytes,
        frames: tuple[int, ...],
        ts: float | None = None,
        transport: str | None = None,
        addr: tuple[str, int, str, int] | None = None,
    ) -> None:
        try:
            msg = sipmsg.parse(raw)
        except sipmsg.SipParseError:
            self.errors += 1
            return
        src, sport, dst, dport = addr or (d.src, d.sport, d.dst, d.dport)
        out.append(
            SipEvent(
                d.ts if ts is None else ts,
                src,
                sport,
                dst,
                dport,
                transport or d.transport,
                msg,
                frames,
            )
        )

    # -- TCP -------------------------------------------------------------------------------------

    def _tcp_segment(self, d: Datagram) -> list[SipEvent]:
        key = (d.src, d.sport, d.dst, d.dport)
        st = self._tcp.get(key)
        if st is None:
            st = self._tcp[key] = _TcpStream()
        if d.tcp_flags & 0x02:  # SYN: the stream starts after it
            st.next_seq = (d.tcp_seq + 1) & 0xFFFFFFFF
            st.buf.clear()
            st.pending.clear()
            return []
        if not d.payload:
            return []
        if st.next_seq is None:
            st.next_seq = d.tcp_seq
        delta = (d.tcp_seq - st.next_seq) & 0xFFFFFFFF
        if delta >= 0x80000000:  # old data (a retransmission), maybe with new bytes at the end
            overlap = (st.next_seq - d.tcp_seq) & 0xFFFFFFFF
            if overlap >= len(d.payload):
                return []
            self._append(st, d.payload[overlap:], d.frames)
        elif delta > 0:  # a gap: keep it until the missing bytes arrive
            if len(st.pending) < MAX_OUT_OF_ORDER:
                st.pending[d.tcp_seq] = (d.payload, d.frames)
                return []
            st.pending.clear()  # the gap will not fill: resync on this segment
            st.buf.clear()
            st.next_seq = d.tcp_seq
            self._append(st, d.payload, d.frames)
        else:
            self._append(st, d.payload, d.frames)
        while st.next_seq in st.pending:
            data, frames = st.pending.pop(st.next_seq)
            self._append(st, data, frames)
        return self._frame_stream(d, key, st)

    @staticmethod
    def _append(st: _TcpStream, data: bytes, frames: tuple[int, ...]) -> None:
        st.buf += data
        st.frames.extend(frames)
        st.next_seq = ((st.next_seq or 0) + len(data)) & 0xFFFFFFFF

    def _frame_stream(
        self, d: Datagram, key: tuple[str, int, str, int], st: _TcpStream
    ) -> list[SipEvent]:
        out: list[SipEvent] = []
        if st.ws:
            return self._ws_frames(d, st)
        buf = st.buf
        while buf:
            if key in self._ws_flows and buf[:5] != b"HTTP/":
                st.ws = True
                out.extend(self._ws_frames(d, st))
                return out
            if buf[:4] == b"GET " or buf[:5] == b"HTTP/":
                end, term = sipmsg.header_end(buf)
                if end < 0:
                    break
                head = bytes(buf[:end]).lower()
                if b"upgrade: websocket" in head:
                    self._ws_flows.add(key)
                    self._ws_flows.add((key[2], key[3], key[0], key[1]))
                del buf[: end + term]
                if key in self._ws_flows:
                    st.ws = True
                    st.frames.clear()
                    out.extend(self._ws_frames(d, st))
                    return out
                continue
            start = sipmsg.find_start(buf)
            if start < 0:
                # keep a tail that may be the beginning of a start line
                if len(buf) > 256:
                    del buf[:-256]
                break
            if start:
                del buf[:start]
            end, term = sipmsg.header_end(buf)
            if end < 0:
                if len(buf) > MAX_STREAM_BUFFER:
                    buf.clear()
                break
            clen = sipmsg.content_length(buf[:end]) or 0
            size = end + term + clen
            if len(buf) < size:
                if size > MAX_STREAM_BUFFER:
                    del buf[: end + term]
                    continue
                break
            self._emit(out, d, bytes(buf[:size]), tuple(dict.fromkeys(st.frames)))
            del buf[:size]
            st.frames = [d.frames[-1]] if buf else []
        if not buf:
            st.frames.clear()
        return out

    def _ws_frames(self, d: Datagram, st: _TcpStream) -> list[SipEvent]:
        """RFC 6455 frames; each complete text/binary message is one SIP message (RFC 7118)."""
        out: list[SipEvent] = []
        buf = st.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack_from("!H", buf, 2)[0]
                off = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack_from("!Q", buf, 2)[0]
                off = 10
            mask = b""
            if b1 & 0x80:
                mask = bytes(buf[off : off + 4])
                off += 4
            if n > MAX_STREAM_BUFFER:
                buf.clear()
                break
            if len(buf) < off + n:
                break
            payload = bytes(buf[off : off + n])
            if mask:
                payload = bytes(c ^ mask[i & 3] for i, c in enumerate(payload))
            del buf[: off + n]
            opcode = b0 & 0x0F
            if opcode in WS_OPCODES_DATA or opcode == 0:
                st.ws_buf += payload
                if b0 & 0x80:  # FIN: the message is whole
                    self._emit(
                        out, d, bytes(st.ws_buf), tuple(dict.fromkeys(st.frames)), transport="ws"
                    )
                    st.ws_buf.clear()
                    st.frames = []
        if buf:
            st.frames = [d.frames[-1]]
        return out

    # -- HEP3 ------------------------------------------------------------------------------------

    def _hep(self, d: Datagram) -> SipEvent | None:
        p = d.payload
        if len(p) < 6:
            return None
        total = struct.unpack_from("!H", p, 4)[0]
        off, end = 6, min(total, len(p))
        src = dst = ""
        sport = dport = 0
        sec = usec = None
        proto_type = 0
        ip_proto = 17
        payload = b""
        while off + 6 <= end:
            _vendor, ctype, clen = struct.unpack_from("!HHH", p, off)
            if clen < 6:
                return None
            v = p[off + 6 : off + clen]
            if ctype == 2 and v:
                ip_proto = v[0]
            elif ctype in (3, 4) and len(v) == 4:
                if ctype == 3:
                    src = str(IPv4Address(v))
                else:
                    dst = str(IPv4Address(v))
            elif ctype in (5, 6) and len(v) == 16:
                if ctype == 5:
                    src = str(IPv6Address(v))
                else:
                    dst = str(IPv6Address(v))
            elif ctype in (7, 8) and len(v) == 2:
                if ctype == 7:
                    sport = struct.unpack("!H", v)[0]
                else:
                    dport = struct.unpack("!H", v)[0]
            elif ctype == 9 and len(v) == 4:
                sec = struct.unpack("!I", v)[0]
            elif ctype == 10 and len(v) == 4:
                usec = struct.unpack("!I", v)[0]
            elif ctype == 11 and v:
                proto_type = v[0]
            elif ctype == 15:
                payload = v
            elif ctype == 16:
                try:
                    payload = zlib.decompress(v)
                except zlib.error:
                    return None
            off += clen
        if proto_type != HEP_SIP or not payload:
            return None
        ts = d.ts if sec is None else sec + (usec or 0) / 1e6
        out: list[SipEvent] = []
        transport = {6: "tcp", 17: "udp", 132: "sctp"}.get(ip_proto, "udp")
        self._emit(
            out, d, payload, d.frames, ts=ts, transport=transport, addr=(src, sport, dst, dport)
        )
        return out[0] if out else None


def sip_events(path: str | Path) -> Iterator[SipEvent]:
    """Every SIP message of a capture file, in capture order."""
    with CaptureFile(path) as cap:
        dec = Decapsulator(cap.linktype)
        ext = SipExtractor()
        for frame in cap:
            for d in dec.decode(frame.index, frame.ts, frame.data):
                yield from ext.feed(d)


def datagrams(path: str | Path) -> Iterable[Datagram]:
    """Every transport datagram of a capture file, in capture order."""
    with CaptureFile(path) as cap:
        dec = Decapsulator(cap.linktype)
        for frame in cap:
            yield from dec.decode(frame.index, frame.ts, frame.data)
