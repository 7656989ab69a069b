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
    """Dropped before libpcap saw them: ``ps_drop`` (ring buffer full) + ``ps_ifdrop``. On
    ``lo`` the kernel also queues (then libpcap discards) the outgoing copy of every packet, so
    there each lost packet counts twice."""
    if_dropped: int = 0
    """The ``ps_ifdrop`` part of :attr:`kernel_dropped` (interface/driver drops, all traffic)."""
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
