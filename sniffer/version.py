"""The installed callsift version, and which hot path it runs (compiled or pure Python)."""

from importlib.metadata import PackageNotFoundError, version

from sniffer.compiled import describe, implementation

__all__ = ["callsift_version", "implementation", "version_line"]


def callsift_version() -> str:
    try:
        return version("callsift")
    except PackageNotFoundError:
        return "0"


def version_line() -> str:
    """``callsift 0.1.0 (compiled (mypyc))``: what ``callsift --version`` prints."""
    return f"callsift {callsift_version()} ({describe()})"
