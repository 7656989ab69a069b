"""Receiving an uploaded capture: streamed to a file as it arrives (never held in memory),
size-capped while it streams, from a raw body or a ``multipart/form-data`` field ``file``."""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from api.errors import ApiError

CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)
GZIP_MAGIC = b"\x1f\x8b"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_filename(name: str | None) -> str:
    """The client's file name reduced to a display name (never a path)."""
    base = (name or "capture").replace("\\", "/").rsplit("/", 1)[-1]
    return (_SAFE.sub("_", base).lstrip(".") or "capture")[:100]


class _Sink:
    """Writes bytes to ``path`` (0640), refusing more than ``cap`` bytes."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path = path
        self.cap = cap
        self.size = 0
        self.head = b""
        self.fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise ApiError(413, "too_large", f"the capture is larger than {self.cap} bytes")
        if len(self.head) < 4:
            self.head = (self.head + data)[:4]
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


async def receive_capture(
    stream: AsyncIterator[bytes], content_type: str, dest: Path, cap: int
) -> tuple[int, str | None]:
    """Store the upload at ``dest``; (size, the client's file name if multipart). Raises
    :class:`ApiError` 413 past ``cap``, 415 when it is not a pcap/pcapng (gzip allowed), 422
    when a multipart body has no ``file`` field."""
    sink = _Sink(dest, cap)
    filename: str | None = None
    try:
        ctype, params = parse_options_header(content_type)
        if ctype == b"multipart/form-data":
            filename = await _multipart(stream, params.get(b"boundary", b""), sink)
        else:
            async for chunk in stream:
                sink.write(chunk)
        sink.close()
        if sink.size == 0:
            raise ApiError(422, "invalid_parameter", "the upload is empty", field="file")
        if sink.head not in CAPTURE_MAGICS and sink.head[:2] != GZIP_MAGIC:
            raise ApiError(
                415,
                "unsupported_media_type",
                "not a pcap or pcapng file (gzip-compressed ones are fine)",
            )
    except BaseException:
        sink.close()
        dest.unlink(missing_ok=True)
        raise
    return sink.size, filename


class _FormState:
    """Callbacks of python-multipart's streaming parser: the part named ``file`` goes to the
    sink, every other part is skipped."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.field = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.is_file = False
        self.found = False
        self.filename: str | None = None

    def on_part_begin(self) -> None:
        self.headers = {}
        self.is_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.lower()] = self.value
        self.field = self.value = b""

    def on_headers_finished(self) -> None:
        _disp, p = parse_options_header(self.headers.get(b"content-disposition", b""))
        if p.get(b"name") == b"file" and not self.found:
            self.is_file = self.found = True
            self.filename = p.get(b"filename", b"").decode("utf-8", "replace") or None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.sink.write(data[start:end])


async def _multipart(stream: AsyncIterator[bytes], boundary: bytes, sink: _Sink) -> str | None:
    if not boundary:
        raise ApiError(422, "invalid_parameter", "multipart body without a boundary")
    st = _FormState(sink)
    callbacks = {
        "on_part_begin": st.on_part_begin,
        "on_header_field": st.on_header_field,
        "on_header_value": st.on_header_value,
        "on_header_end": st.on_header_end,
        "on_headers_finished": st.on_headers_finished,
        "on_part_data": st.on_part_data,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise ApiError(422, "invalid_parameter", f"malformed multipart body: {exc}") from exc
    if not st.found:
        raise ApiError(422, "invalid_parameter", "the form has no field named 'file'", field="file")
    return st.filename
