"""An in-process mirror receiver and senders joined by socket pairs (no network at all)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from db.records import CallRecord, Record
from db.settings import Settings, load_settings
from sniffer.analyzer import Analyzer
from sniffer.capture.files import open_capture
from sniffer.mirror.batch import BatchEncoder
from sniffer.mirror.buffer import Pending, SendBuffer
from sniffer.mirror.client import MirrorClient, Target
from sniffer.mirror.frames import FLAG_ZSTD
from sniffer.mirror.pool import SensorPool
from sniffer.mirror.remote import STATE_DIR
from sniffer.mirror.server import MirrorReceiver
from sniffer.service.receivers import serve

DATA = Path(__file__).resolve().parents[2] / "data" / "golden"
CALL_PCAP = DATA / "sip_rtp_g711u_call_register_voipshark.pcap"
SPLIT_AT = 2000
"""A packet of CALL_PCAP's RTP (its INVITEs are packets 61..135, its BYEs 5609..5614)."""
SECRETS = {"pbx1": "pbx1-secret-0123456789", "pbx2": "pbx2-secret-0123456789"}


def receiver_settings(tmp: Path, db_url: str, **mirror: object) -> Settings:
    secrets = tmp / "secrets"
    secrets.write_text("".join(f"{n} {s}\n" for n, s in SECRETS.items()))
    secrets.chmod(0o600)
    flags = {
        "storage.db_url": db_url,
        "spool.dir": str(tmp / "spool"),
        "mirror.listen": "127.0.0.1:0",
        "mirror.secrets_file": str(secrets),
        "sensor.heartbeat_s": 0.5,
        **{f"mirror.{k}": v for k, v in mirror.items()},
    }
    return load_settings(None, flags)


def preset_sensor_ids(spool: Path, ids: dict[str, int]) -> None:
    """The senders' sensor ids, as a receiver remembers them (no claim in the shared database)."""
    d = spool / STATE_DIR
    d.mkdir(parents=True, exist_ok=True)
    for name, sid in ids.items():
        (d / f"{name}.json").write_text(json.dumps({"name": name, "sensor_id": sid}))


def packets_of(path: Path) -> tuple[int, list[tuple[float, bytes]]]:
    with open_capture(path) as src:
        return src.linktype, [(ts, bytes(f)) for ts, f in src.packets()]


def direct_calls(path: Path) -> list[CallRecord]:
    """What analysing the file directly gives."""
    out: list[Record] = []
    linktype, pkts = packets_of(path)
    a = Analyzer(linktype, out.append)
    a.feed(pkts)
    a.finish("unterminated")
    return sorted((r for r in out if isinstance(r, CallRecord)), key=lambda r: r.call_id)


def sender(
    receiver: MirrorReceiver | list[MirrorReceiver],
    name: str,
    secret: str | None = None,
    *,
    batch: int = 256,
) -> tuple[MirrorClient, SendBuffer, list[bytes]]:
    """A client whose connections are socket pairs into ``receiver`` (of a list: the last one
    when it connects, so appending one is a failover); also returns the list where every
    byte it writes is recorded (for replays)."""
    wire: list[bytes] = []

    async def opener(_t: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        a, b = socket.socketpair()
        sr, sw = await asyncio.open_connection(sock=a)
        (receiver[-1] if isinstance(receiver, list) else receiver).accept(sr, sw)
        cr, cw = await asyncio.open_connection(sock=b)
        orig = cw.write

        def write(data: bytes) -> None:  # type: ignore[override]
            wire.append(bytes(data))
            orig(data)

        cw.write = write  # type: ignore[method-assign]
        return cr, cw

    buf = SendBuffer(64 << 20)
    client = MirrorClient(
        name, (secret or SECRETS[name]).encode(), [Target("pair", 0)], buf, opener=opener
    )
    return client, buf, wire


def load_file(
    client: MirrorClient, buf: SendBuffer, path: Path, batch: int = 256, part: slice | None = None
) -> int:
    """Every packet of the file (or ``part`` of them) into the buffer as the next frames;
    returns the packets."""
    linktype, pkts = packets_of(path)
    if part is not None:
        pkts = pkts[part]
    enc = BatchEncoder()
    seq = buf.acked + buf.frames
    for i in range(0, len(pkts), batch):
        part = pkts[i : i + batch]
        body, compressed = enc.encode(linktype, part)
        seq += 1
        buf.push(Pending(seq, FLAG_ZSTD if compressed else 0, body, len(part)))
    client.wake.set()
    return len(pkts)


def make_receiver(settings: Settings, journal: Path) -> MirrorReceiver:
    return MirrorReceiver(settings, SensorPool(settings, journal))


@asynccontextmanager
async def running(receiver: MirrorReceiver) -> AsyncIterator[asyncio.Task[None]]:
    """The receiver (connections through ``accept`` only) and its pool, stopped at the end."""

    async def accept_only(stop: asyncio.Event) -> None:
        await receiver.run(stop, listen=False)

    stop = asyncio.Event()
    task = asyncio.create_task(serve([accept_only], receiver.pool, stop, 30.0))
    await asyncio.sleep(0.01)
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
