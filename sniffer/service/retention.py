"""Spool retention: per-call pcaps are deleted oldest first when the spool exceeds its size
limit, and when older than its age limit; a file of a call still open is never deleted."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PCAP_SUFFIXES = (".pcap", ".pcap.gz")


@dataclass(slots=True)
class SweepResult:
    deleted_files: int = 0
    freed_bytes: int = 0
    remaining_files: int = 0
    remaining_bytes: int = 0
    errors: int = 0


class SpoolCleaner:
    """One sweep walks the spool and deletes what the limits say (``0`` = no limit)."""

    def __init__(
        self,
        root: str | Path,
        *,
        max_bytes: int,
        max_age_s: float,
        open_files: Callable[[], frozenset[str]],
    ) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.open_files = open_files

    def _scan(self) -> list[tuple[float, int, str]]:
        """(mtime, size, relpath) of every call pcap, oldest first."""
        found: list[tuple[float, int, str]] = []
        root = str(self.root)
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if not name.endswith(PCAP_SUFFIXES):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                found.append((st.st_mtime, st.st_size, os.path.relpath(full, root)))
        found.sort()
        return found

    def sweep(self, now: float) -> SweepResult:
        """Delete by age, then oldest first down to the size limit. Blocking: run in a thread."""
        files = self._scan()
        busy = self.open_files()
        total = sum(size for _m, size, _p in files)
        res = SweepResult()
        keep: list[tuple[float, int, str]] = []
        for mtime, size, rel in files:
            too_old = self.max_age_s > 0 and now - mtime > self.max_age_s
            too_big = self.max_bytes > 0 and total > self.max_bytes
            if (too_old or too_big) and rel not in busy and self._delete(rel, res):
                total -= size
                res.deleted_files += 1
                res.freed_bytes += size
            else:
                keep.append((mtime, size, rel))
        res.remaining_files = len(keep)
        res.remaining_bytes = total
        self._prune_dirs()
        if res.deleted_files:
            log.info(
                "spool retention: deleted %d files (%d bytes), %d files (%d bytes) remain",
                res.deleted_files, res.freed_bytes, res.remaining_files, res.remaining_bytes,
            )  # fmt: skip
        if self.max_bytes > 0 and total > self.max_bytes:
            log.warning(
                "spool %s holds %d bytes, over its %d-byte limit: the rest belongs to open calls",
                self.root, total, self.max_bytes,
            )  # fmt: skip
        return res

    def _delete(self, rel: str, res: SweepResult) -> bool:
        try:
            os.unlink(self.root / rel)
        except FileNotFoundError:
            return True
        except OSError as exc:
            res.errors += 1
            log.warning("spool retention: cannot delete %s: %s", rel, exc)
            return False
        return True

    def _prune_dirs(self) -> None:
        """Remove the empty YYYY-MM-DD/HH/MM directories left behind. Hidden directories
        (``.journal``, ``.sensor``, the API's ``.imports`` mount point...) belong to others and
        are left alone, empty or not."""
        root = str(self.root)
        for dirpath, _dirs, _files in os.walk(root, topdown=False):
            rel = os.path.relpath(dirpath, root)
            if rel == "." or any(part.startswith(".") for part in rel.split(os.sep)):
                continue
            try:
                os.rmdir(dirpath)
            except OSError:
                pass  # not empty
