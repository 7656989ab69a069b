"""Packet source contracts.

:class:`PacketSource`: a capture file, read synchronously by ``callsift analyze``
(:mod:`sniffer.capture.files`): ``(capture timestamp, link-layer frame)`` pairs of one link type.

:class:`BatchSource`: what the live sensor (``callsift sniff``) analyses. Any number of them
feed the sensor's one analyzer (:mod:`sniffer.service.intake`), so a call whose SIP comes from
one source and its RTP from another is one call. Live capture (:class:`~.live.LiveCapture`)
implements it; a mirror receiver or a HEP listener implements it the same way.

Writing a batch source
----------------------
* ``name``: a short label for logs and counters (an interface, ``mirror``, ``hep:9060``).
* ``async with source:`` starts it (threads, sockets); leaving the block releases everything,
  bounded in time, whatever state the source is in.
* ``async for batch in source:`` yields :class:`FrameBatch` (captured frames of one link type,
  in capture order per origin) or :class:`DatagramBatch` (already-decoded datagrams, such as
  the SIP a HEP agent reports: no link-layer frame to fake). Batches of one source are
  analysed in the order they are yielded; different sources interleave batch by batch.
  Keep batches a few hundred packets at most, and never an empty one.
* ``stop()``: thread-safe and idempotent. The source stops taking input at once, yields what
  it already holds, then its iteration ends. A source may also end on its own.
* A failure that ends the source is raised from the iteration (a :class:`~db.errors.CaptureError`
  naming the source); the sensor then stops every source, analyses what was queued, closes the
  open calls and exits with that error.
* Never block the event loop: blocking reads belong in a thread of the source's own, handing
  batches over through a bounded queue that drops (and counts) when full. The sensor's intake
  queue is bounded too: a batch that does not fit is dropped and counted
  (``capture.intake_dropped_packets``), the source is never slowed down.
* Timestamps are capture times (epoch seconds, float): when the frame was seen on the wire at
  its origin (the mirror sender's capture time, the HEP timestamp), not when it arrived here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import NamedTuple, Protocol, Self, runtime_checkable

from sniffer.decode.datagram import Decoded

Packets = list[tuple[float, bytes]]
"""``(capture timestamp, frame)`` pairs."""


class FrameBatch(NamedTuple):
    """Captured link-layer frames of one link type."""

    source: str
    """The name of the source (for a live capture: the interface)."""
    linktype: int
    """DLT value as pypcap/libpcap reports it (``12`` for raw IP, not LINKTYPE_RAW 101)."""
    packets: Packets


class DatagramBatch(NamedTuple):
    """Transport payloads already taken out of their packets (HEP): see
    :class:`~sniffer.decode.datagram.Decoded`."""

    source: str
    datagrams: list[Decoded]


Batch = FrameBatch | DatagramBatch


@runtime_checkable
class BatchSource(Protocol):
    """An asynchronous source of batches for the live sensor (see the module docstring)."""

    name: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Batch]: ...

    def stop(self) -> None:
        """Stop taking input; the iteration ends once what is held is yielded."""


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
