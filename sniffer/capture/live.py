"""Live capture for the sensor: one thread per interface, batches handed to asyncio through a
bounded queue that drops (and counts) when full instead of blocking the capture.

Each capture thread waits in ``poll()`` (GIL released) on its non-blocking libpcap socket and a
wake-up pipe, then drains the ring with ``dispatch(batch_max)``: pypcap holds the GIL inside
libpcap, so a blocking read would freeze the event loop. Batches go to a ``deque`` shared by
all interfaces (per-interface arrival order is kept); the consumer is woken through
``loop.call_soon_threadsafe`` only when it is waiting.
"""

import asyncio
import errno
import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from db.errors import CaptureError
from sniffer.capture.bpf import DEFAULT_BPF
from sniffer.capture.livehandle import HandleOptions, LiveHandle
from sniffer.capture.livestats import CaptureStats, InterfaceStats
from sniffer.capture.source import FrameBatch, Packets

__all__ = ["DEFAULT_BPF", "CaptureStats", "InterfaceStats", "LiveCapture", "LiveOptions"]

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0
"""How long closing waits for the capture threads (they notice a stop within milliseconds)."""
STATS_REFRESH_S = 1.0
"""Each capture thread reads its kernel counters this often (32-bit, they must not wrap twice
between reads) and checks that its interface still exists."""
_POLL_ERROR = select.POLLERR | select.POLLHUP | select.POLLNVAL


@dataclass(slots=True)
class LiveOptions:
    interfaces: list[str]
    """One or more interface names, or ``["any"]``."""
    bpf: str = DEFAULT_BPF
    snaplen: int = 65535
    buffer_bytes: int = 32 << 20
    """Kernel ring buffer per interface."""
    promisc: bool = True
    immediate: bool = False
    """Deliver each packet at once instead of per kernel block (at most ``poll_timeout_ms``
    late). Off by default: in immediate mode libpcap uses TPACKET_V2, whose ring has one fixed
    slot per packet sized for the largest frame (65535 with GRO, or on lo), so 32 MiB hold only
    256 packets and a short stall of the capture thread drops; TPACKET_V3 packs frames by their
    real size (~100k RTP packets in 32 MiB)."""
    batch_max: int = 512
    """Packets per batch handed over."""
    queue_batches: int = 1024
    """Bound of the hand-over queue, in batches (shared by all interfaces)."""
    poll_timeout_ms: int = 100
    """Kernel block timeout (delivery delay when not immediate) and the longest a capture
    thread sleeps between looks at its counters."""


class _Failed:
    """Queue marker: a capture thread died with ``exc``."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _append(ts: float, pkt: bytes, batch: Packets) -> None:
    batch.append((ts, pkt))


def _check(options: LiveOptions) -> None:
    if not options.interfaces:
        raise CaptureError("no capture interface given")
    for name in options.interfaces:
        if options.interfaces.count(name) > 1:
            raise CaptureError(f"interface '{name}' is listed twice")
    for attr in ("snaplen", "batch_max", "queue_batches", "poll_timeout_ms"):
        if getattr(options, attr) < 1:
            raise CaptureError(f"{attr} must be at least 1, got {getattr(options, attr)}")
    if options.buffer_bytes < 0:
        raise CaptureError(f"buffer_bytes must not be negative, got {options.buffer_bytes}")


class LiveCapture:
    """Captures on one or more interfaces, each in its own thread; yields batches in arrival
    order per interface. A :class:`~sniffer.capture.source.BatchSource`.

    ``open()`` (optional, to surface errors at startup), then ``async with`` to run the threads
    and ``async for iface, linktype, batch in capture``. After :meth:`stop` the threads end,
    the batches already queued are still yielded, then the iterator ends.
    """

    def __init__(self, options: LiveOptions) -> None:
        self.options = options
        self.name = "+".join(options.interfaces)
        self.linktypes: dict[str, int] = {}
        self._handles: list[LiveHandle] = []
        self._stats: dict[str, InterfaceStats] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._queue: deque[FrameBatch | _Failed] = deque()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._wake_r = self._wake_w = -1
        self._running = 0
        self._waiting = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Open every handle now and apply the filter; idempotent. Raises :class:`CaptureError`
        with one line naming the interface or filter."""
        if self._handles:
            return
        o = self.options
        _check(o)
        hopts = HandleOptions(
            o.snaplen, o.buffer_bytes, o.promisc, o.immediate, o.poll_timeout_ms, o.bpf
        )
        handles: list[LiveHandle] = []
        try:
            for name in o.interfaces:
                handles.append(LiveHandle(name, hopts))
        except BaseException:
            for h in handles:
                h.close()
            raise
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._handles = handles
        self.linktypes = {h.name: h.linktype for h in handles}
        self._stats = {h.name: InterfaceStats() for h in handles}
        log.info(
            "capture opened on %s (link types %s)",
            ", ".join(self.linktypes),
            ", ".join(map(str, self.linktypes.values())),
        )

    async def __aenter__(self) -> "LiveCapture":
        self.open()
        if self._threads:
            raise CaptureError("live capture is already running")
        if self._stopping.is_set():
            raise CaptureError("live capture was stopped; create a new one")
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        for h in self._handles:
            t = threading.Thread(target=self._run, args=(h,), name=f"capture-{h.name}", daemon=True)
            with self._lock:
                self._running += 1
            try:
                t.start()
            except BaseException:
                with self._lock:
                    self._running -= 1
                await self.__aexit__(None, None, None)
                raise
            self._threads[h.name] = t
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        try:
            while self.running and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        finally:
            self._release()

    def stop(self) -> None:
        """Thread-safe, idempotent: the capture threads leave their loop at once (wake-up pipe),
        the iterator ends once the queued batches are consumed."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            if self._wake_w >= 0:
                try:
                    os.write(self._wake_w, b"\0")
                except OSError:
                    pass

    def close(self) -> None:
        """Synchronous clean-up (e.g. after :meth:`open` without running): stop, wait for the
        threads (bounded), release the handles."""
        self.stop()
        for t in self._threads.values():
            t.join(JOIN_TIMEOUT_S)
        self._release()

    @property
    def running(self) -> bool:
        """A capture thread is still alive."""
        return any(t.is_alive() for t in self._threads.values())

    def _release(self) -> None:
        """Close the handles no thread owns (a thread closes its own when it ends) and, once
        every thread is gone, the wake-up pipe."""
        for h in self._handles:
            t = self._threads.get(h.name)
            if t is None:
                h.close()
            elif t.is_alive():
                log.warning("capture thread on %s did not stop; its handle stays open", h.name)
        with self._lock:
            if not self.running and self._wake_r >= 0:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1

    # -- consumer side ------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[FrameBatch]:
        return self.batches()

    async def batches(self) -> AsyncIterator[FrameBatch]:
        """``(interface, linktype, [(ts, frame), ...])`` as captured. Ends after :meth:`stop`;
        an error of a capture thread is raised here."""
        ready = self._ready
        if ready is None:
            raise CaptureError("live capture is not running (use 'async with')")
        q = self._queue
        while True:
            if q:
                item = q.popleft()
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
                continue
            if self._running == 0:
                return
            ready.clear()
            self._waiting = True
            if q or self._running == 0:  # a thread added or ended before it saw the flag
                self._waiting = False
                continue
            await ready.wait()

    def stats(self) -> CaptureStats:
        """Counters per interface and in total, a snapshot (kernel counters are at most
        :data:`STATS_REFRESH_S` old)."""
        per: dict[str, InterfaceStats] = {}
        for h in self._handles:
            s = self._stats[h.name].copy()
            s.kernel_dropped, s.if_dropped = h.dropped, h.if_dropped
            per[h.name] = s
        return CaptureStats.total_of(per)

    # -- capture threads ----------------------------------------------------------------------

    def _notify(self) -> None:
        loop, ready = self._loop, self._ready
        if loop is None or ready is None:
            return
        try:
            loop.call_soon_threadsafe(ready.set)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stopping.set()

    def _run(self, h: LiveHandle) -> None:
        try:
            self._capture(h)
        except BaseException as exc:
            if isinstance(exc, OSError):
                exc = CaptureError(f"capture on '{h.name}' failed: {exc}")
            if not isinstance(exc, CaptureError):
                log.exception("capture thread on %s crashed", h.name)
            self._queue.append(_Failed(exc))
        finally:
            h.close()
            with self._lock:
                self._running -= 1
            self._notify()

    @staticmethod
    def _socket_error(h: LiveHandle, st: InterfaceStats, events: int) -> None:
        """Handle a poll error on the capture socket before libpcap, which in non-blocking mode
        clears and ignores it. An interface going down is survivable: the kernel resumes
        delivery when it is up again; one that disappeared is not."""
        if events & (select.POLLHUP | select.POLLNVAL):
            raise CaptureError(f"capture on '{h.name}' failed: the capture socket was closed")
        err = h.socket_error()
        if err == errno.ENETDOWN and h.exists():
            st.interface_down += 1
            log.warning("interface %s went down; capture resumes when it is up", h.name)
        elif err == errno.ENETDOWN:
            raise CaptureError(f"capture on '{h.name}' failed: the interface disappeared")
        elif err:
            raise CaptureError(f"capture on '{h.name}' failed: {os.strerror(err)}")

    def _capture(self, h: LiveHandle) -> None:
        o = self.options
        p, name, linktype = h.pcap, h.name, h.linktype
        batch_max, cap, stopping = o.batch_max, o.queue_batches, self._stopping
        q, st = self._queue, self._stats[name]
        poller = select.poll()
        poller.register(h.fileno, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        refresh_at = time.monotonic() + STATS_REFRESH_S
        while not stopping.is_set():
            for fd, ev in poller.poll(o.poll_timeout_ms):
                if fd == h.fileno and ev & _POLL_ERROR:
                    self._socket_error(h, st, ev)
            while not stopping.is_set():
                batch: Packets = []
                n = p.dispatch(batch_max, _append, batch)
                if n < 0:
                    raise CaptureError(f"capture on '{name}' failed: {h.geterr()}")
                if not batch:
                    break
                st.received += len(batch)
                st.bytes += sum([len(f) for _, f in batch])
                if len(q) >= cap:
                    st.queue_dropped_packets += len(batch)
                    st.queue_dropped_batches += 1
                else:
                    q.append(FrameBatch(name, linktype, batch))
                    st.batches += 1
                    if self._waiting:
                        self._waiting = False
                        self._notify()
                if len(batch) < batch_max or time.monotonic() >= refresh_at:
                    break
            now = time.monotonic()
            if now >= refresh_at:
                h.refresh_drops()
                if not h.exists():
                    raise CaptureError(f"capture on '{name}' failed: the interface disappeared")
                refresh_at = now + STATS_REFRESH_S
