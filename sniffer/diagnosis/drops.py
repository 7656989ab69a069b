"""The sensor's own packet drops over time, so a call's record can say whether the sensor lost
packets while the call was up (``capture_loss``)."""

from __future__ import annotations

from bisect import bisect_right
from collections import deque

MAX_SAMPLES = 7200
"""Samples kept (one a second: two hours); older calls are judged from the oldest one."""


class DropLedger:
    """Cumulative (kernel, queue) drop totals sampled over time (seconds, epoch)."""

    __slots__ = ("_kernel", "_queue", "_ts")

    def __init__(self) -> None:
        self._ts: deque[float] = deque(maxlen=MAX_SAMPLES)
        self._kernel: deque[int] = deque(maxlen=MAX_SAMPLES)
        self._queue: deque[int] = deque(maxlen=MAX_SAMPLES)

    def record(self, ts: float, kernel: int, queue: int) -> None:
        """Totals at ``ts``; a sample only when they changed (or the first one)."""
        if self._ts and ts < self._ts[-1]:
            return  # clock went backwards: keep the ledger ordered
        if self._ts and self._kernel[-1] == kernel and self._queue[-1] == queue:
            return
        if not self._ts:
            # drops counted before the first sample happened before any call we judge
            self._ts.append(float("-inf"))
            self._kernel.append(kernel)
            self._queue.append(queue)
            return
        self._ts.append(ts)
        self._kernel.append(kernel)
        self._queue.append(queue)

    def _at(self, ts: float) -> tuple[int, int]:
        if not self._ts:
            return 0, 0
        i = bisect_right(self._ts, ts) - 1
        if i < 0:
            i = 0
        return self._kernel[i], self._queue[i]

    def between(self, start: float, end: float) -> tuple[int, int]:
        """(kernel, queue) drops recorded after ``start`` up to ``end``."""
        k0, q0 = self._at(start)
        k1, q1 = self._at(end)
        return max(0, k1 - k0), max(0, q1 - q0)
