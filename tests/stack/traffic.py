"""Traffic for the stack's sensors: veth pairs on the host (the sniffer runs on the host's
network), named with the test's tag, replayed onto with tcpreplay; and what each capture
should produce, from the offline analyzer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dpkt

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TAG = "st"
_BYE = re.compile(rb"^BYE sip|\r\nCSeq:\s*\d+\s+BYE\r\n", re.IGNORECASE | re.MULTILINE)


@contextmanager
def veth_pairs(n: int) -> Iterator[list[tuple[str, str]]]:
    """``n`` veth pairs (send side, capture side), removed at the end."""
    base = f"{TAG}{os.getpid() % 10000}"
    pairs = [(f"{base}s{i}", f"{base}c{i}") for i in range(n)]
    try:
        for tx, rx in pairs:
            subprocess.run(["ip", "link", "add", tx, "type", "veth", "peer", "name", rx],
                           check=True, capture_output=True)  # fmt: skip
            for dev in (tx, rx):
                subprocess.run(["ip", "link", "set", dev, "up"], check=True, capture_output=True)
                subprocess.run(["sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1"],
                               check=False, capture_output=True)  # fmt: skip
        yield pairs
    finally:
        for tx, _rx in pairs:
            subprocess.run(["ip", "link", "del", tx], check=False, capture_output=True)


def replay(interface: str, capture: Path) -> None:
    subprocess.run(["tcpreplay", "-q", "-i", interface, "--pps", "20000", str(capture)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip


def call_ids(capture: Path, *, ended: bool = True) -> set[str]:
    """Call-IDs of the calls ``callsift analyze`` finds in a capture; with ``ended``, only
    those that end in it (a live sensor keeps the others open until their timeout)."""
    r = subprocess.run([sys.executable, "-m", "sniffer.cli.main", "analyze", "--json",
                        str(capture)], capture_output=True, text=True, check=True,
                       timeout=300)  # fmt: skip
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    return {
        str(x["call_id"])
        for x in recs
        if x.get("type") == "call" and not (ended and x["state"] == "unterminated")
    }


def without_bye(capture: Path, out: Path) -> Path:
    """A copy of a capture without its BYE requests and their responses: its calls are
    still open when the capture ends."""
    with open(capture, "rb") as f, open(out, "wb") as g:
        reader = dpkt.pcap.Reader(f)
        writer = dpkt.pcap.Writer(g, linktype=reader.datalink())
        for ts, frame in reader:
            if not _BYE.search(frame):
                writer.writepkt(frame, ts)
    return out
