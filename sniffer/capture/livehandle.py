"""Opening a live libpcap handle (pypcap) with one-line, user-facing errors, and reading its
kernel drop counters across 32-bit wrap-around."""

import logging
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

import pcap

from db.errors import CaptureError
from sniffer.capture.bpf import DEFAULT_BPF
from sniffer.capture.loopback import reject_loopback_outgoing

log = logging.getLogger(__name__)

ANY = "any"
"""libpcap's pseudo-interface capturing on every interface (Linux cooked link layer)."""
LOOPBACK = "lo"
U32 = 1 << 32

_LIBPCAP_MESSAGE = re.compile(r"""was b(['"])(.*)\1$""")
_PERMISSION = ("not permitted", "permission", "cap_net_raw")


def _text(exc: BaseException) -> str:
    """libpcap's message out of a pypcap exception (pypcap passes bytes or wraps them)."""
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace")
    text = str(arg)
    m = _LIBPCAP_MESSAGE.search(text)
    return m.group(2) if m else text


def available_interfaces() -> list[str]:
    """Capturable network interfaces in libpcap's order (up ones first), then ``any``."""
    try:
        devs = pcap.findalldevs()
    except OSError:
        devs = []
    netdevs = {name for _, name in socket.if_nameindex()}
    names = [d for d in devs if d in netdevs]
    names += sorted(netdevs.difference(names))
    return [*names, ANY]


def _known(name: str) -> bool:
    if name == ANY or name in {n for _, n in socket.if_nameindex()}:
        return True
    try:
        return name in pcap.findalldevs()  # pseudo-devices such as nflog
    except OSError:
        return False


def _not_found(name: str) -> CaptureError:
    return CaptureError(
        f"interface '{name}' does not exist (available: {', '.join(available_interfaces())})"
    )


def _ifindex(name: str) -> int:
    """Kernel index of a network interface; 0 for ``any``, pseudo-devices and unknown names."""
    if name == ANY:
        return 0
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0


def _drop_loopback_outgoing(name: str, p: Any) -> None:
    """The kernel keeps loopback's outgoing copies (which libpcap discards anyway) out of the
    ring and out of the drop counter; without it they double both on ``lo``."""
    try:
        reject_loopback_outgoing(int(p.fileno()), socket.if_nametoindex(LOOPBACK))
    except (OSError, ValueError) as exc:
        log.warning(
            "capture on %s: cannot keep loopback's outgoing copies out of the kernel (%s);"
            " its packets take twice the ring space and count twice when dropped",
            name,
            exc,
        )


def u32_delta(new: int, old: int) -> int:
    """Increase of a 32-bit libpcap counter from ``old`` to ``new``, across one wrap-around."""
    return (new - old) % U32


@dataclass(slots=True)
class HandleOptions:
    snaplen: int
    buffer_bytes: int
    promisc: bool
    immediate: bool
    timeout_ms: int
    bpf: str


class LiveHandle:
    """An open, filtered, non-blocking pypcap handle on one interface.

    Once a capture thread owns it, only that thread calls into :attr:`pcap`; other threads
    read the drop counters it keeps up to date."""

    def __init__(self, name: str, opts: HandleOptions) -> None:
        if not name:
            raise CaptureError("empty interface name")
        if not _known(name):
            raise _not_found(name)
        try:
            p: Any = pcap.pcap(
                name=name,
                snaplen=opts.snaplen,
                promisc=opts.promisc,
                timeout_ms=opts.timeout_ms,
                immediate=opts.immediate,
                buffer_size=opts.buffer_bytes,
            )
        except OSError as exc:
            raise self._open_error(name, _text(exc)) from None
        try:
            p.setfilter(opts.bpf)
        except OSError as exc:
            if opts.bpf == DEFAULT_BPF:
                raise CaptureError(
                    f"the default BPF filter does not work on '{name}' (link type"
                    f" {p.datalink()}): {_text(exc)}; give a filter for it"
                ) from None
            raise CaptureError(f"bad BPF filter '{opts.bpf}': {_text(exc)}") from None
        if name in (ANY, LOOPBACK):
            _drop_loopback_outgoing(name, p)
        try:
            _, drop, ifdrop = p.stats()
        except OSError as exc:
            if os.path.isfile(name):
                raise CaptureError(
                    f"'{name}' is a capture file in the working directory, not an interface"
                ) from None
            raise CaptureError(
                f"cannot read capture statistics of '{name}': {_text(exc)}"
            ) from None
        p.setnonblock(True)
        self.name = name
        self.pcap: Any = p
        self.linktype = int(p.datalink())
        self.fileno = int(p.fileno())
        self.ifindex = _ifindex(name)
        self._last = (int(drop), int(ifdrop))
        self.dropped = 0
        """ps_drop: packets that passed the filter but found the kernel ring full, accumulated
        (each once: see :mod:`sniffer.capture.loopback`)."""
        self.if_dropped = 0
        """ps_ifdrop: packets the interface's hardware missed (rx_missed + rx_fifo errors,
        all traffic, before any filter; 0 for ``any`` and virtual interfaces), accumulated."""

    @staticmethod
    def _open_error(name: str, msg: str) -> CaptureError:
        low = msg.lower()
        if "no such device" in low:
            return _not_found(name)
        if any(p in low for p in _PERMISSION):
            return CaptureError(f"capture on '{name}' needs root or CAP_NET_RAW")
        if "not up" in low:
            return CaptureError(f"interface '{name}' is down")
        return CaptureError(f"cannot capture on '{name}': {msg}")

    def geterr(self) -> str:
        return _text(OSError(self.pcap.geterr()))

    def socket_error(self) -> int:
        """Read and clear the capture socket's pending error (an errno, 0 if none)."""
        try:
            with socket.fromfd(self.fileno, socket.AF_PACKET, socket.SOCK_RAW) as s:
                return int(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        except OSError as exc:
            return exc.errno or 0

    def exists(self) -> bool:
        """The interface captured on is still there (``any`` always is): a deleted one (even if
        re-created under the same name) never delivers to this handle again."""
        return self.ifindex == 0 or self.ifindex == _ifindex(self.name)

    def refresh_drops(self) -> None:
        """Read libpcap's counters into :attr:`dropped` / :attr:`if_dropped`. Only the thread
        that owns the handle calls it: pypcap calls must not interleave with ``dispatch``,
        whose Python callback lets other threads run in the middle of it."""
        if self.pcap is None:
            return
        try:
            _, drop, ifdrop = self.pcap.stats()
        except OSError:
            return
        last_drop, last_ifdrop = self._last
        self.dropped += u32_delta(int(drop), last_drop)
        self.if_dropped += u32_delta(int(ifdrop), last_ifdrop)
        self._last = (int(drop), int(ifdrop))

    def close(self) -> None:
        """Read the final counters and release the handle; idempotent. Only the owning thread
        calls it (never while another thread may be inside ``dispatch``)."""
        self.refresh_drops()
        p, self.pcap = self.pcap, None
        if p is not None:
            p.close()
