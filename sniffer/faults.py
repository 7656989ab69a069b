"""The packet loop's guard against its own bugs: an exception raised while analysing one packet
is counted (``analyzer.internal_error.<ExceptionType>``), logged with its traceback and the
packet's capture time (rate-limited), and the loop goes on with the next packet.

Exceptions raised by the record sink are not analysis bugs (a closed stdout, a writer that
failed): :class:`SinkError` carries them through every guard to the caller of the analyzer,
which re-raises the original exception.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import NoReturn

from sniffer.counters import Counters

log = logging.getLogger(__name__)

INTERNAL_ERROR = "analyzer.internal_error."
"""Counter prefix; the exception's class name follows (``analyzer.internal_error.ValueError``)."""
LOG_BURST = 5
"""Tracebacks logged in full before rate limiting starts."""
LOG_INTERVAL_S = 60.0
"""Then at most one traceback per this many seconds (wall clock), with the count suppressed."""


class SinkError(Exception):
    """The record sink raised (the original exception is ``__cause__``): never swallowed."""


# These two raise with ``from``, which mypyc-compiled code ignores (the cause would be lost):
# they stay here, in an interpreted module, for the compiled analyzer to call.


def raise_sink_error(exc: Exception) -> NoReturn:
    """Wrap the sink's exception ``exc`` to carry it through the analyzer's guards."""
    raise SinkError(f"the record sink failed: {exc!r}") from exc


def reraise_sink_cause(exc: SinkError) -> NoReturn:
    """Outside the analyzer: raise the sink's own exception again, as it was."""
    cause = exc.__cause__
    if not isinstance(cause, Exception):
        raise exc
    raise cause from cause.__cause__


def capture_time(ts: float) -> str:
    """``2023-11-14T22:13:20.000123Z (1700000000.000123)``; the raw value if not a time."""
    try:
        when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (ValueError, OverflowError, OSError):
        return repr(ts)
    return f"{when} ({ts:.6f})"


class FaultGuard:
    """Counts and logs the analyzer's internal errors (see the module docstring)."""

    __slots__ = ("_burst", "_next_log", "_suppressed", "counters", "total")

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.total = 0
        self._burst = LOG_BURST
        self._next_log = 0.0
        self._suppressed = 0

    def fault(self, exc: Exception, ts: float, where: str, size: int = -1) -> None:
        """Record one internal error raised while handling ``where`` at capture time ``ts``."""
        if isinstance(exc, SinkError):
            raise exc
        self.total += 1
        self.counters.inc(INTERNAL_ERROR + type(exc).__name__)
        now = time.monotonic()
        if self._burst > 0:
            self._burst -= 1
        elif now < self._next_log:
            self._suppressed += 1
            return
        if self._burst == 0:
            self._next_log = now + LOG_INTERVAL_S
        more = f" ({self._suppressed} more since the last report)" if self._suppressed else ""
        self._suppressed = 0
        frame = f", {size}-byte frame" if size >= 0 else ""
        log.error(
            "internal error (a callsift bug, please report it) in %s%s captured at %s: "
            "%s: %s; counted as %s%s, analysis goes on%s",
            where,
            frame,
            capture_time(ts),
            type(exc).__name__,
            exc,
            INTERNAL_ERROR,
            type(exc).__name__,
            more,
            exc_info=exc,
        )


def internal_errors(counters: dict[str, int]) -> dict[str, int]:
    """Exception type -> count, from a counters snapshot."""
    n = len(INTERNAL_ERROR)
    return {k[n:]: v for k, v in counters.items() if k.startswith(INTERNAL_ERROR)}
