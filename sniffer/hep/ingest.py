"""What a received HEP packet becomes: checked against the auth key of its capture id, then
its SIP, RTP or RTCP payload analysed like a captured packet by the sensor of its capture id
and node name (``hep:ID:NODE`` in ``sensors``)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections import deque
from pathlib import Path

from db.errors import ConfigError, DbError
from sniffer.counters import Counters
from sniffer.decode.datagram import Decoded
from sniffer.decode.hep import (
    HEP_TRANSPORTS,
    PROTO_TYPE_RTCP,
    PROTO_TYPE_RTP,
    PROTO_TYPE_SIP,
    HepPacket,
    HepParseError,
)
from sniffer.mirror.pool import SensorPool
from sniffer.mirror.remote import RemoteSensor

log = logging.getLogger(__name__)

LINKTYPE_ETHERNET = 1
KINDS = {PROTO_TYPE_SIP: "sip", PROTO_TYPE_RTP: "rtp", PROTO_TYPE_RTCP: "rtcp"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def load_auth_keys(path: Path) -> dict[int, bytes]:
    """``CAPTURE_ID KEY`` per line (``#`` comments): the key each capture id must send."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"hep auth keys {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    keys: dict[int, bytes] = {}
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) > 0xFFFFFFFF:
            raise ConfigError(f"hep auth keys {path} line {no}: expected 'CAPTURE_ID KEY'")
        keys[int(parts[0])] = parts[1].encode()
    return keys


def sensor_of(pkt: HepPacket) -> tuple[str, str, str]:
    """(identity, name, key) of the sensor a packet belongs to."""
    node = _UNSAFE.sub("_", (pkt.node_name or b"").decode("utf-8", "replace"))[:40]
    name = node or f"hep-{pkt.capture_id}"
    return f"hep:{pkt.capture_id}:{node}", name, f"hep-{pkt.capture_id}-{node}"


class HepIngest:
    """Packets in (from the listeners, never blocking: a full queue drops and counts), one
    consumer task analysing them."""

    def __init__(
        self, pool: SensorPool, counters: Counters, *, auth_keys: dict[int, bytes] | None = None,
        queue_packets: int = 65536,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.counters = counters
        self.auth_keys = auth_keys or {}
        self.queue: deque[tuple[bytes | HepPacket, float]] = deque()
        self.max_queue = queue_packets
        self._sensors: dict[str, RemoteSensor] = {}
        self._wake: asyncio.Event | None = None

    def put(self, item: bytes | HepPacket) -> None:
        if len(self.queue) >= self.max_queue:
            self.counters.inc("hep.queue_dropped")
            return
        self.queue.append((item, time.time()))
        if self._wake is not None:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Analyse queued packets until ``stop`` (what is queued then is still analysed)."""
        self._wake = wake = asyncio.Event()
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while True:
                while self.queue:
                    item, now = self.queue.popleft()
                    await self.handle(item, now)
                    if len(self.queue) % 256 == 0:
                        await asyncio.sleep(0)
                if stop.is_set():
                    return
                wake.clear()
                waiter = asyncio.ensure_future(wake.wait())
                await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            stopper.cancel()

    async def handle(self, item: bytes | HepPacket, now: float) -> None:
        c = self.counters
        if isinstance(item, HepPacket):
            pkt = item
        else:
            try:
                pkt = HepPacket.parse(item)
            except HepParseError:
                c.inc("hep.bad_packet")
                return
        want = self.auth_keys.get(pkt.capture_id)
        if want is not None and not hmac.compare_digest(pkt.auth_key or b"", want):
            c.inc("hep.auth_failed")
            return
        kind = KINDS.get(pkt.proto_type)
        if kind is None:
            c.inc(f"hep.type_{pkt.proto_type}")
            return
        if kind == "rtcp" and pkt.payload[:1] == b"{":
            c.inc("hep.rtcp_json")  # agents' RTCP summaries as JSON, not packets
            return
        identity, name, key = sensor_of(pkt)
        sensor = self._sensors.get(identity)
        if sensor is None:
            try:
                sensor = await self.pool.get(identity, name, key=key, kind="hep")
            except DbError as exc:
                c.inc("hep.sensor_id_unavailable")
                log.warning("hep: no sensor id for %s yet (%s): packet dropped", name, exc)
                return
            self._sensors[identity] = sensor
        c.inc(f"hep.{kind}")
        d = Decoded(
            pkt.ts if pkt.ts_sec else now,
            pkt.ip_proto if pkt.ip_proto in HEP_TRANSPORTS else 17,
            pkt.src_ip, pkt.src_port, pkt.dst_ip, pkt.dst_port, pkt.payload,
            "hep3" if pkt.version == 3 else f"hep{pkt.version}",
        )  # fmt: skip
        sensor.analyzer_for(LINKTYPE_ETHERNET).feed_decoded([d])
        sensor.packets += 1
        sensor.stream_packets += 1
