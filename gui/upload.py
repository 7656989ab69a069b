"""The import page's upload: the browser's multipart form parsed as it arrives, the file part
written straight to disk (never held in memory) and refused past the size limit."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from gui.errors import UploadError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 4096
"""Other fields of the form (the CSRF token) are short."""
FORM_OVERHEAD = 64 * 1024
CHUNK = 256 * 1024


@dataclass
class Upload:
    path: Path
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    async def chunks(self) -> AsyncIterator[bytes]:
        with self.path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk


class _Parts:
    """Callbacks of the multipart parser: headers of the current part, its data to the file
    (the ``file`` field) or to a small buffer (any other field)."""

    def __init__(self, upload: Upload, out: object, max_bytes: int) -> None:
        self.upload, self.out, self.max_bytes = upload, out, max_bytes
        self.headers: dict[bytes, bytes] = {}
        self.hname = self.hvalue = b""
        self.name: str | None = None
        self.is_file = False
        self.buf = bytearray()

    def part_begin(self) -> None:
        self.headers, self.name, self.is_file, self.buf = {}, None, False, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.hname += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.hvalue += data[start:end]

    def header_end(self) -> None:
        self.headers[self.hname.strip().lower()] = self.hvalue.strip()
        self.hname = self.hvalue = b""

    def headers_finished(self) -> None:
        _, opts = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = opts.get(b"name", b"").decode("utf-8", "replace")
        self.is_file = self.name == FILE_FIELD
        if self.is_file:
            raw = opts.get(b"filename", b"").decode("utf-8", "replace")
            self.upload.filename = os.path.basename(raw.replace("\\", "/"))[:255]

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise UploadError(f"the file is larger than {self.max_bytes >> 20} MiB", 413)
            self.out.write(data[start:end])  # type: ignore[attr-defined]
        else:
            self.buf += data[start:end]
            if len(self.buf) > MAX_FIELD_BYTES:
                raise UploadError(f"form field {self.name!r} is too long")

    def part_end(self) -> None:
        if not self.is_file and self.name:
            self.upload.fields[self.name] = self.buf.decode("utf-8", "replace")


async def receive_upload(request: Request, folder: Path | None, max_bytes: int) -> Upload:
    """The upload of ``request`` on disk (mode 0600, in ``folder`` or the temporary directory);
    :class:`UploadError` for a body that is no form, too large, or carries no file. The caller
    removes the file (:meth:`Upload.remove`)."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    boundary = opts.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError("send the capture with the import form (multipart/form-data)", 415)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
        raise UploadError(f"the file is larger than {max_bytes >> 20} MiB", 413)
    fd, name = tempfile.mkstemp(prefix="callsift-upload-", suffix=".cap", dir=folder)
    upload = Upload(Path(name))
    try:
        with os.fdopen(fd, "wb") as out:
            parts = _Parts(upload, out, max_bytes)
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": parts.part_begin,
                    "on_header_field": parts.header_field,
                    "on_header_value": parts.header_value,
                    "on_header_end": parts.header_end,
                    "on_headers_finished": parts.headers_finished,
                    "on_part_data": parts.part_data,
                    "on_part_end": parts.part_end,
                },
            )
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
    except UploadError:
        upload.remove()
        raise
    except Exception as exc:  # the parser's own errors: a broken form
        upload.remove()
        raise UploadError(f"the upload is not a valid form ({exc})") from exc
    if not upload.filename and upload.size == 0:
        upload.remove()
        raise UploadError("choose a capture file (pcap or pcapng) to import")
    return upload
