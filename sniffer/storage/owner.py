"""Whose records a journal holds: one database and one sensor, never another.

A writer's journal is the directory ``<journal root>/<key>/``, where the key is a digest of the
database (``HOST:PORT/DATABASE``, the user and password left out: the same database reached as
another user is the same database) and the sensor id. The directory holds a manifest,
``journal.json``, naming both; it is written when the directory is created and checked every
time it is opened, so records journalled for one database are replayed into that database
only, whatever ``--db`` a later run is given. Journals of other databases or sensors under the
same root are left alone (a warning says where they are and whose they are).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from db.errors import JournalError
from db.url import DbConfig
from sniffer.privfiles import open_private
from sniffer.storage.segments import SEGMENT, SEGMENT_GLOB, fsync_dir

log = logging.getLogger(__name__)

MANIFEST = "journal.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class JournalOwner:
    """The database (``HOST:PORT/DATABASE``) and the sensor a journal's records belong to."""

    database: str
    sensor_id: int

    @classmethod
    def of(cls, cfg: DbConfig, sensor_id: int) -> JournalOwner:
        return cls(f"{cfg.where.lower()}/{cfg.database}", sensor_id)

    @property
    def key(self) -> str:
        """The directory name under the journal root: stable across runs and versions."""
        digest = hashlib.sha256(f"{self.database}\0{self.sensor_id}".encode()).hexdigest()
        return f"sensor-{self.sensor_id}-{digest[:16]}"

    def __str__(self) -> str:
        return f"sensor {self.sensor_id} on {self.database}"

    def manifest(self) -> bytes:
        body = {"format": FORMAT, "database": self.database, "sensor_id": self.sensor_id}
        return json.dumps(body, sort_keys=True).encode() + b"\n"


def read_manifest(directory: Path) -> JournalOwner | None:
    """The owner a journal directory names; None when it has no manifest. A manifest that
    cannot be read or parsed is a :class:`JournalError`."""
    path = directory / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalError(f"cannot read journal manifest {path}: {exc.strerror}") from exc
    try:
        body = json.loads(raw)
        if body.get("format") != FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        database, sensor_id = body["database"], body["sensor_id"]
        if not isinstance(database, str) or type(sensor_id) is not int:
            raise ValueError("database or sensor_id of the wrong type")
    except (ValueError, AttributeError, KeyError) as exc:
        raise JournalError(f"journal manifest {path} is damaged: {exc}") from exc
    return JournalOwner(database, sensor_id)


def claim(directory: Path, owner: JournalOwner) -> None:
    """Make sure ``directory`` (locked by the caller) is ``owner``'s journal: check its
    manifest, or write one into a directory that holds no records yet. A journal of someone
    else, or records of nobody known, are a :class:`JournalError`: never replayed here."""
    found = read_manifest(directory)
    if found == owner:
        return
    if found is not None:
        raise JournalError(
            f"journal {directory} holds records of {found}, not of {owner}: "
            "they are replayed into their own database only"
        )
    if any(directory.glob(SEGMENT_GLOB)):
        raise JournalError(
            f"journal {directory} holds records of an unknown database (no {MANIFEST}): "
            f"not replayed into {owner.database}"
        )
    _write_atomically(directory / MANIFEST, owner.manifest())


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = open_private(str(tmp), os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise JournalError(f"cannot write journal manifest {path}: {exc.strerror}") from exc


def report_others(root: Path, owner: JournalOwner) -> list[Path]:
    """Warn about journals under ``root`` that hold records of another database or sensor
    (or, from an older callsift, of nobody known): they stay where they are. Returns them."""
    others: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return others
    if any(SEGMENT.fullmatch(e.name) for e in entries):
        others.append(root)
        log.warning(
            "journal %s holds records of an unknown database (an older callsift): not "
            "replayed; move them into the journal of their database to replay them",
            root,
        )
    for entry in entries:
        if entry.name == owner.key or not entry.is_dir() or not any(entry.glob(SEGMENT_GLOB)):
            continue
        try:
            whose = read_manifest(entry)
            why = f"records of {whose}" if whose else f"records without {MANIFEST}"
        except JournalError as exc:
            why = str(exc)
        others.append(entry)
        log.warning(
            "journal %s waits for another database or sensor (%s): left alone until a run "
            "writes to it",
            entry,
            why,
        )
    return others
