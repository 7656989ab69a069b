"""The pcap of a call row, found inside the spool. The path comes from the row, never from
the request, and must resolve inside the spool directory: absolute paths elsewhere, ``..``
and symbolic links that leave the spool are refused."""

from pathlib import Path, PurePosixPath

from api.errors import ApiError


def call_pcap(spool: Path | None, relpath: str | None) -> Path:
    """The file, or an :class:`ApiError` 404 saying why there is none."""
    if not relpath:
        raise ApiError(404, "no_pcap", "this call has no pcap (the sensor ran without a spool)")
    if spool is None:
        raise ApiError(404, "no_pcap", "this API has no spool directory (callsift api --spool DIR)")
    root = spool.resolve()
    rel = PurePosixPath(relpath)
    if ".." in rel.parts or "\x00" in relpath:
        raise ApiError(404, "no_pcap", "the call's pcap path is outside the spool")
    candidate = Path(relpath) if rel.is_absolute() else root / rel
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ApiError(
            404, "no_pcap", "the call's pcap is no longer in the spool (retention)"
        ) from None
    if not real.is_relative_to(root) or not real.is_file():
        raise ApiError(404, "no_pcap", "the call's pcap path is outside the spool")
    return real
