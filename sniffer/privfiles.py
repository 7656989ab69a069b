"""Private files of the sensor: call pcaps (audio), the journal and the call snapshot (numbers,
IPs). Files are created 0640 in directories created 0750: never world-readable. A configured
group (the API's reader) owns what the spool creates, so that group may read the pcaps and
nobody else. The umask can only narrow these modes."""

from __future__ import annotations

import grp
import os

FILE_MODE = 0o640
DIR_MODE = 0o750


def group_id(group: str | None) -> int | None:
    """The gid of a group name or number; None for None (the process's own group).

    Raises ValueError naming the group when it does not exist."""
    if group is None or group == "":
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        pass
    if group.isdigit():
        return int(group)
    raise ValueError(f"no such group: {group!r}")


def make_dirs(path: str, gid: int | None = None) -> None:
    """``os.makedirs(path, exist_ok=True)`` creating every missing level 0750 (and giving it
    to ``gid``); directories that exist are left as they are."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip(os.sep))
    if parent and parent != path and not os.path.lexists(parent):
        make_dirs(parent, gid)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if os.path.isdir(path):
            return
        raise
    if gid is not None:
        os.chown(path, -1, gid)


def open_private(path: str, flags: int, gid: int | None = None) -> int:
    """``os.open(path, flags | O_CREAT, 0640)``; a file it creates is given to ``gid``."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    if gid is not None:
        try:
            os.fchown(fd, -1, gid)
        except OSError:
            os.close(fd)
            raise
    return fd


def world_accessible(path: str) -> bool:
    """Can users outside the owner and group list or read ``path``?"""
    try:
        return bool(os.stat(path).st_mode & 0o007)
    except OSError:
        return False
