"""Counters of a live capture, per interface and in total."""

from dataclasses import dataclass, field, fields


@dataclass(slots=True)
class InterfaceStats:
    received: int = 0
    """Packets libpcap handed over (after the filter): queued + queue-dropped."""
    bytes: int = 0
    """Captured bytes (at most snaplen per packet) of the received packets."""
    batches: int = 0
    """Batches queued for the analyzer."""
    queue_dropped_packets: int = 0
    """Received but dropped because the hand-over queue was full."""
    queue_dropped_batches: int = 0
    kernel_dropped: int = 0
    """Packets that passed the filter but were dropped by the kernel because the capture ring
    was full (``ps_drop``), each counted once: loopback's outgoing copies never enter the
    ring (:mod:`sniffer.capture.loopback`). Kernel drops + received never exceed the packets
    that reached the interface and matched the filter."""
    if_dropped: int = 0
    """Packets the interface's hardware missed (``ps_ifdrop``: the NIC's rx_missed and rx_fifo
    errors since the capture started, every packet, before any filter; 0 on ``any`` and on
    virtual interfaces). Not part of :attr:`kernel_dropped`."""
    interface_down: int = 0
    """Times the interface went down while capturing (capture resumes when it is up)."""

    def copy(self) -> "InterfaceStats":
        return InterfaceStats(*(getattr(self, f.name) for f in fields(InterfaceStats)))


@dataclass(slots=True)
class CaptureStats(InterfaceStats):
    """Totals over all interfaces, and the per-interface counters in :attr:`interfaces`."""

    interfaces: dict[str, InterfaceStats] = field(default_factory=dict)

    @classmethod
    def total_of(cls, per: dict[str, InterfaceStats]) -> "CaptureStats":
        total = cls(interfaces=per)
        for f in fields(InterfaceStats):
            setattr(total, f.name, sum(getattr(s, f.name) for s in per.values()))
        return total
