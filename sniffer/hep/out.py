"""``--hep-out udp|tcp:HOST:PORT``: every SIP message a sensor analyses is copied as HEPv3 to a
HOMER collector (capture id and auth key configurable, node name: the sensor's name). The
packet path only appends to a bounded queue (full: dropped and counted); one task sends, over
UDP, or over TCP with reconnects and a jittered backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections import deque
from collections.abc import Callable

from db.settings import Settings
from db.settings.mirror import hep_target
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram
from sniffer.decode.hep import AF_INET, AF_INET6, PROTO_TYPE_SIP, HepPacket, encode_hep3

log = logging.getLogger(__name__)

QUEUE_PACKETS = 65536
CONNECT_TIMEOUT_S = 5.0
BACKOFF_MAX_S = 30.0


class HepOut:
    def __init__(self, settings: Settings) -> None:
        h = settings.hep
        assert h.out is not None
        self.proto, self.host, self.port = hep_target(h.out)
        self.capture_id = h.out_capture_id
        self.auth_key = h.out_auth_key.get_secret_value().encode() if h.out_auth_key else None
        self.queue: deque[bytes] = deque()
        self.counters = Counters()
        self._wake = asyncio.Event()

    def tap(self, node: str) -> Callable[[Datagram], None]:
        """The tap of one sensor's analyzers (its name is the HEP node name)."""
        name = node.encode()[:64]

        def copy(d: Datagram) -> None:
            if len(self.queue) >= QUEUE_PACKETS:
                self.counters.inc("hep_out.dropped_queue_full")
                return
            sec = int(d.ts)
            pkt = HepPacket(
                ip_family=AF_INET6 if len(d.src) == 16 else AF_INET, ip_proto=d.transport,
                src_ip=d.src, dst_ip=d.dst, src_port=d.sport, dst_port=d.dport, ts_sec=sec,
                ts_usec=min(999_999, round((d.ts - sec) * 1e6)), proto_type=PROTO_TYPE_SIP,
                capture_id=self.capture_id, auth_key=self.auth_key, payload=d.payload,
                node_name=name,
            )  # fmt: skip
            try:
                self.queue.append(encode_hep3(pkt))
            except ValueError:
                self.counters.inc("hep_out.too_large")
                return
            self._wake.set()

        return copy

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop``, then what is queued (briefly)."""
        log.info("copying SIP as HEPv3 to %s:%s:%d", self.proto, self.host, self.port)
        if self.proto == "udp":
            await self._udp(stop)
        else:
            await self._tcp(stop)

    async def _next(self, stop: asyncio.Event) -> bool:
        """Wait for packets; False once stopped with nothing left."""
        while not self.queue:
            if stop.is_set():
                return False
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                stopper.cancel()
        return True

    async def _udp(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        family, _t, _p, _c, addr = infos[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            while await self._next(stop):
                while self.queue:
                    data = self.queue.popleft()
                    try:
                        sock.sendto(data, addr)
                        self.counters.inc("hep_out.sent")
                    except BlockingIOError:
                        self.queue.appendleft(data)
                        await asyncio.sleep(0.001)
                    except OSError:
                        self.counters.inc("hep_out.send_errors")
                await asyncio.sleep(0)

    async def _tcp(self, stop: asyncio.Event) -> None:
        attempt = 0
        while await self._next(stop):
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    _r, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as exc:
                self.counters.inc("hep_out.connect_failures")
                if attempt == 0:
                    log.warning("hep out %s:%d: %s; retrying", self.host, self.port, exc)
                attempt += 1
                if stop.is_set():
                    self.counters.inc("hep_out.dropped_at_stop", len(self.queue))
                    return
                await asyncio.sleep(random.uniform(0, min(BACKOFF_MAX_S, 0.5 * 2**attempt)))
                continue
            attempt = 0
            try:
                while await self._next(stop):
                    batch = [self.queue.popleft() for _ in range(min(256, len(self.queue)))]
                    writer.write(b"".join(batch))
                    async with asyncio.timeout(CONNECT_TIMEOUT_S * 6):
                        await writer.drain()
                    self.counters.inc("hep_out.sent", len(batch))
            except (OSError, TimeoutError) as exc:
                self.counters.inc("hep_out.connection_lost")
                log.warning("hep out %s:%d: connection lost (%s)", self.host, self.port, exc)
            finally:
                writer.close()
