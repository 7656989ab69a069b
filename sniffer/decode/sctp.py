"""SCTP (RFC 9260): SIP carried in DATA chunks, fragmented user messages reassembled by TSN
(B/E bits) per stream; I-DATA (RFC 8260) chunks only when unfragmented. PPID is ignored."""

from struct import unpack_from

from ..seq import seq32_add
from ..sip.framing import looks_like_sip
from .base import NONE, DecoderBase, Frames
from .datagram import SCTP, Datagram

SCTP_COMMON_HDR = 12
SCTP_CHUNK_DATA = 0
SCTP_CHUNK_IDATA = 64
SCTP_DATA_HDR = 16
SCTP_IDATA_HDR = 20
FLAG_E = 0x01
FLAG_B = 0x02
FLAGS_UNFRAGMENTED = FLAG_B | FLAG_E
MAX_PARTIALS = 1024

PartialKey = tuple[bytes, int, bytes, int, int]


class _Partial:
    __slots__ = ("first_ts", "frames", "next_tsn", "parts", "size")

    def __init__(self, ts: float, tsn: int) -> None:
        self.first_ts = ts
        self.next_tsn = tsn
        self.parts: list[bytes] = []
        self.frames: Frames = []
        self.size = 0


class SctpLayer(DecoderBase):
    """SCTP DATA chunks to datagrams; ``self._sctp_partials`` holds fragmented messages."""

    _sctp_partials: dict[PartialKey, _Partial]
    _sctp_max_message: int

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
        """One datagram per complete user message that looks like SIP."""
        if end - off < SCTP_COMMON_HDR:
            return self._count("decode.truncated_sctp")
        sport, dport = unpack_from("!HH", data, off)
        p = off + SCTP_COMMON_HDR
        out: list[Datagram] = NONE
        seen_data = False
        while end - p >= 4:
            ctype, cflags, clen = unpack_from("!BBH", data, p)
            if clen < 4 or p + clen > end:
                self._count("decode.truncated_sctp_chunk")
                break
            if ctype in (SCTP_CHUNK_DATA, SCTP_CHUNK_IDATA):
                seen_data = True
                hlen = SCTP_DATA_HDR if ctype == SCTP_CHUNK_DATA else SCTP_IDATA_HDR
                fo = p + hlen if frames is None else -1
                if clen <= hlen:
                    self._count("decode.sctp_bad_data_chunk")
                    payload = None
                elif cflags & FLAGS_UNFRAGMENTED == FLAGS_UNFRAGMENTED:
                    payload = data[p + hlen : p + clen]
                    fr = list(frames) if frames is not None else [(self._ts, self._frame)]
                elif ctype == SCTP_CHUNK_IDATA:
                    self._count("decode.sctp_idata_fragmented")
                    payload = None
                else:
                    (tsn, sid) = unpack_from("!IH", data, p + 4)
                    got = self._sctp_fragment(
                        (src, sport, dst, dport, sid), cflags, tsn, data, p + hlen, p + clen, frames
                    )
                    if got is None:
                        payload = None
                    else:
                        payload, fr = got
                        fo = -1
                if payload is not None:
                    if not looks_like_sip(payload):
                        self._count("decode.sctp_not_sip")
                    else:
                        if out is NONE:
                            out = []
                        out.append(
                            Datagram(
                                SCTP, src, sport, dst, dport, payload, vlan, self._ts, fr, fo, encap
                            )
                        )
            p += (clen + 3) & ~3
        if not seen_data:
            self._count("decode.sctp_no_data")
        return out

    def _sctp_fragment(
        self,
        key: PartialKey,
        flags: int,
        tsn: int,
        data: bytes,
        off: int,
        end: int,
        frames: Frames | None,
    ) -> tuple[bytes, Frames] | None:
        """Add one fragment of a user message; returns the message and its frames when the
        fragment with the E bit completes a run of consecutive TSNs started by a B fragment."""
        partials = self._sctp_partials
        s = partials.get(key)
        if flags & FLAG_B:
            if s is not None:
                self._count("decode.sctp_frag_incomplete")
            if len(partials) >= MAX_PARTIALS and key not in partials:
                del partials[next(iter(partials))]
                self._count("decode.sctp_frag_evicted")
            s = partials[key] = _Partial(self._ts, tsn)
        elif s is None:
            self._count("decode.sctp_frag_orphan")
            return None
        if tsn != s.next_tsn:
            del partials[key]
            self._count("decode.sctp_frag_gap")
            return None
        s.parts.append(data[off:end])
        s.size += end - off
        if s.size > self._sctp_max_message:
            del partials[key]
            self._count("decode.sctp_frag_too_big")
            return None
        s.frames.extend(frames if frames is not None else [(self._ts, self._frame)])
        s.next_tsn = seq32_add(tsn, 1)
        if not flags & FLAG_E:
            self._count("decode.sctp_frag_pending")
            return None
        del partials[key]
        return b"".join(s.parts), s.frames

    def _sctp_expire(self, now_ts: float, timeout_s: float) -> None:
        limit = now_ts - timeout_s
        partials = self._sctp_partials
        for key in [k for k, s in partials.items() if s.first_ts < limit]:
            del partials[key]
            self._count("decode.sctp_frag_expired")
