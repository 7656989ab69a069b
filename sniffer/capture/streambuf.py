"""Read-ahead buffer over a binary stream, shared by the pcap and pcapng parsers.

Parsers keep ``(buf, pos)`` in locals on their hot path and call :meth:`StreamBuffer.more` only
when a record does not fit in what has been read. Read errors (I/O, gzip, zlib) end the data
like an end of file; they are remembered and reported instead of a truncation.
"""

import zlib
from collections.abc import Callable
from typing import Protocol


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class StopRead(Exception):
    """The data ends here: raised inside a parser, turned into :attr:`StreamBuffer.error`."""

    def __init__(self, message: str, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


class StreamBuffer:
    """The stream, the bytes read ahead of the parser, and how the parse ended."""

    __slots__ = (
        "_chunk",
        "_read",
        "buf",
        "bytes_consumed",
        "error",
        "pos",
        "read_error",
        "records",
        "truncated",
    )

    def __init__(self, stream: Readable, chunk_size: int) -> None:
        read1 = getattr(stream, "read1", None)
        self._read: Callable[[int], bytes] = read1 if callable(read1) else stream.read
        self._chunk = chunk_size
        self.buf = b""
        self.pos = 0
        self.read_error: StopRead | None = None
        self.bytes_consumed = 0
        self.error: str | None = None
        self.truncated = False
        self.records = 0

    def more(self, buf: bytes, pos: int, need: int) -> bytes:
        """``buf[pos:]`` extended from the stream to at least ``need`` bytes (fewer at the end)."""
        head = buf[pos:]
        parts = [head]
        have = len(head)
        while have < need and self.read_error is None:
            try:
                chunk = self._read(max(self._chunk, need - have))
            except EOFError as exc:
                self.read_error = StopRead(f"read error: {exc}", truncated=True)
                break
            except (OSError, ValueError, zlib.error) as exc:  # ValueError: stream closed
                self.read_error = StopRead(f"read error: {exc}")
                break
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
            self.bytes_consumed += len(chunk)
        return b"".join(parts) if len(parts) > 1 else head

    def ensure(self, need: int) -> bool:
        """Make ``need`` bytes available at ``self.buf[self.pos:]``; False if the data ends first."""
        if len(self.buf) - self.pos >= need:
            return True
        self.buf = self.more(self.buf, self.pos, need)
        self.pos = 0
        return len(self.buf) >= need

    def short(self, message: str) -> StopRead:
        """The stop to raise when the data ran out: the read error if there was one."""
        return self.read_error or StopRead(message, truncated=True)

    def fail(self, exc: StopRead) -> None:
        self.error = str(exc)
        self.truncated = exc.truncated
