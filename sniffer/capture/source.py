"""The packet source contract: anything yielding ``(capture timestamp, link-layer frame)`` pairs.

Implemented by capture files (:mod:`sniffer.capture.files`) and, later, live capture, the mirror
receiver and the HEP receiver.
"""

from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable


@runtime_checkable
class PacketSource(Protocol):
    """A source of captured frames, all of one link-layer header type."""

    name: str
    linktype: int
    """DLT value as pypcap/libpcap reports it (``12`` for raw IP, not LINKTYPE_RAW 101)."""

    def packets(self) -> Iterable[tuple[float, bytes]]:
        """``(capture timestamp in epoch seconds, frame)`` pairs, in capture order."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Calls :meth:`close`."""

    @property
    def warning(self) -> str | None:
        """Why the packets ended early (truncated or corrupt input), once they have; else None."""
        ...

    @property
    def bytes_read(self) -> int | None:
        """Best-effort progress (bytes of input consumed so far), None if unknown."""
        ...
