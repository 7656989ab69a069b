"""Helpers of the live-capture tests (test_live*.py): send numbered UDP datagrams, collect
batches with a bounded wait, the message of an open error, a veth pair."""

import asyncio
import socket
import struct
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from db.errors import CaptureError
from sniffer.capture.live import LiveCapture, LiveOptions

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "data" / "golden"
WAIT_S = 10.0
"""Upper bound of every wait; never a timing assertion."""
DLT_EN10MB = 1
DLT_LINUX_SLL = 113

Got = dict[str, list[tuple[float, bytes]]]


def send_udp(port: int, count: int, start: int = 0) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for i in range(start, start + count):
            tx.sendto(b"callsift" + struct.pack(">I", i), ("127.0.0.1", port))


def seqs(packets: list[tuple[float, bytes]]) -> list[int]:
    return [struct.unpack(">I", frame[-4:])[0] for _, frame in packets]


async def collect(cap: LiveCapture, want: int) -> Got:
    """Batches until every interface has ``want`` packets (bounded wait)."""
    got: Got = defaultdict(list)
    async with asyncio.timeout(WAIT_S), aclosing(cap.batches()) as it:
        async for iface, linktype, batch in it:
            assert linktype == cap.linktypes[iface]
            got[iface].extend(batch)
            if all(len(got[i]) >= want for i in cap.linktypes):
                break
    return got


async def wait_until(cond: Any) -> None:
    async with asyncio.timeout(WAIT_S):
        while not cond():
            await asyncio.sleep(0.01)


def open_error(options: LiveOptions) -> str:
    cap = LiveCapture(options)
    with pytest.raises(CaptureError) as info:
        cap.open()
    return str(info.value)


@contextmanager
def veth_pair() -> Iterator[tuple[str, str]]:
    """A veth pair in the test's namespace (created from its thread, so there)."""
    a, b = "csveth0", "csveth1"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True, check=False)


def ip_link(*args: str) -> None:
    subprocess.run(["ip", "link", *args], check=True)
