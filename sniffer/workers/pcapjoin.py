"""A call's pcap under workers: worker 0 writes the call's file (its SIP, its share of the
RTP); another worker that held some of the call's RTP wrote a fragment, a pcap of its own
under ``.w<N>/`` in the spool. When the call's record is built the parent appends each
fragment's records to the call's file and removes the fragment: one file per call, each
worker's packets in time order, the workers' blocks one after the other (Wireshark reads it
as is; ``reordercap`` sorts it). A gzip spool gets each fragment as one more gzip member.
"""

from __future__ import annotations

import gzip as gz
import logging
import os
import zlib

from sniffer.spool.pcapfile import FILE_HEADER

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def fragment_subdir(subdir: str, worker: int) -> str:
    """The spool subdirectory of worker ``worker``'s fragments (under the sensor's own)."""
    own = f".w{worker}"
    return f"{subdir}/{own}" if subdir else own


def join_fragments(root: str, main: str, fragments: list[str], *, gzip: bool) -> bool:
    """Append ``fragments`` (paths under ``root``) to ``main`` and remove them; False when
    that failed (logged; the fragments are removed anyway)."""
    ok = True
    target = os.path.join(root, main)
    for rel in fragments:
        path = os.path.join(root, rel)
        try:
            _append(path, target, gzip)
        except (OSError, EOFError, zlib.error) as exc:
            log.warning("pcap fragment %s not joined to %s: %s", rel, main, exc)
            ok = False
        try:
            os.unlink(path)
        except OSError:
            pass
    return ok


def _append(path: str, target: str, gzip: bool) -> None:
    if gzip:
        with gz.open(path, "rb") as f:
            data = f.read()[FILE_HEADER.size :]
        if data:
            with open(target, "ab") as out:
                out.write(zlib.compress(data, 6, wbits=31))
        return
    with open(path, "rb") as src:
        src.seek(FILE_HEADER.size)
        first = src.read(CHUNK)
        if not first:
            return
        with open(target, "ab") as out:
            chunk = first
            while chunk:
                out.write(chunk)
                chunk = src.read(CHUNK)
