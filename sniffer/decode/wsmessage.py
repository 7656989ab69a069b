"""Assembly of WebSocket messages (RFC 6455 section 5.4) of one direction: fragments joined,
permessage-deflate (RFC 7692) inflated, SIP messages (RFC 7118) kept."""

import zlib

from ..sip.framing import looks_like_sip
from .base import Frames, Pieces, ordered_frames
from .websocket import OP_CONTINUATION, WsFrame

DEFLATE_TAIL = b"\x00\x00\xff\xff"
"""Removed by the sender from the end of each compressed message (RFC 7692 section 7.2.1)."""


class WsMessages:
    """The message being received in one direction; counts ``decode.ws_*`` events."""

    __slots__ = ("_cnt", "_inflater", "_max", "fo", "parts", "pieces", "rsv1", "size")

    def __init__(self, counters: dict[str, int], max_bytes: int) -> None:
        self._cnt = counters
        self._max = max_bytes
        self._inflater: zlib._Decompress | None = None
        self.parts: list[bytes] | None = None
        """Payloads of the frames of the message in progress; None between messages."""
        self.pieces: Pieces = []
        self.size = 0
        self.rsv1 = False
        self.fo = -1

    def _inc(self, reason: str) -> None:
        self._cnt[reason] = self._cnt.get(reason, 0) + 1

    def reset(self) -> None:
        self.parts = None
        self.pieces = []
        self.size = 0

    def frame(
        self, fr: WsFrame, payload: bytes, pieces: Pieces, fo: int
    ) -> tuple[bytes, Frames, int] | None:
        """Add one unmasked data frame (``fo``: offset of the frame header in its captured
        frame, or -1). Returns ``(message, frames, payload offset)`` when it completes a SIP
        message."""
        if fr.opcode != OP_CONTINUATION:
            if self.parts is not None:
                self._inc("decode.ws_unfinished_message")
            self.parts = [payload]
            self.pieces = pieces
            self.size = len(payload)
            self.rsv1 = fr.rsv1
            self.fo = fo + fr.header_len if fo >= 0 and fr.mask is None and not fr.rsv1 else -1
        elif self.parts is None:
            self._inc("decode.ws_orphan_continuation")
            return None
        else:
            self.parts.append(payload)
            self.pieces += pieces
            self.size += len(payload)
            self.fo = -1
            if self.size > self._max:
                self._inc("decode.ws_message_too_large")
                self.reset()
                return None
        if not fr.fin:
            return None
        msg = self._message()
        frames = ordered_frames(self.pieces)
        fo = self.fo
        self.reset()
        return None if msg is None else (msg, frames, fo)

    def _message(self) -> bytes | None:
        assert self.parts is not None
        msg = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
        if self.rsv1:
            if self._inflater is None or self._inflater.eof:
                self._inflater = zlib.decompressobj(-15)
            try:
                msg = self._inflater.decompress(msg + DEFLATE_TAIL, self._max)
            except zlib.error:
                self._inc("decode.ws_inflate_error")
                self._inflater = None
                return None
        if not looks_like_sip(msg):
            self._inc("decode.ws_not_sip")
            return None
        return msg
