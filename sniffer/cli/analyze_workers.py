"""``callsift analyze --workers N``: the run by N processes (sniffer/workers/offline.py) and
what it tells the user."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from db.records import Record
from db.settings import Settings
from sniffer.cli.errors import EXIT_ERROR, EXIT_OK, EXIT_TRUNCATED


def capture_bytes(files: list[str]) -> int:
    """The size of the capture files (what ``analysis.workers = 0`` goes by)."""
    total = 0
    for path in files:
        try:
            total += os.path.getsize(path)
        except OSError:  # stdin, a pipe
            pass
    return total


def analyze_in_workers(
    files: list[str],
    settings: Settings,
    sink: Callable[[Record], None],
    workers: int,
    spool: str | None,
) -> tuple[int, dict[str, Any]]:
    """The analysis by ``workers`` processes: (exit code, stats); warnings on stderr."""
    from sniffer.workers.offline import analyze_files

    outcome = analyze_files(list(files), settings, sink, workers, spool)
    rc = EXIT_OK
    for warning in outcome.warnings:
        print(f"callsift: warning: {warning}", file=sys.stderr)
        rc = EXIT_TRUNCATED
    failed = {k: n for k, n in outcome.spool.items() if k.startswith("pcap_failed.")}
    if failed:
        why = ", ".join(f"{n} {k.removeprefix('pcap_failed.')}" for k, n in sorted(failed.items()))
        print(
            f"callsift: {sum(failed.values())} call pcaps could not be written ({why}; last: "
            f"{outcome.spool_error or ''}); their records have pcap: null",
            file=sys.stderr,
        )
        rc = EXIT_ERROR
    return rc, {**outcome.stats, "files": len(files)}
