"""HEP listeners (``--hep-listen udp:HOST:PORT`` / ``tcp:HOST:PORT``, repeatable): datagrams
and TCP streams into :class:`~sniffer.hep.ingest.HepIngest`. One task per TCP connection under
the service's TaskGroup, a read timeout and a connection limit; UDP never blocks (a full queue
drops and counts)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from db.errors import ConfigError
from db.settings import Settings
from db.settings.mirror import hep_target
from sniffer.counters import Counters
from sniffer.hep.ingest import HepIngest, load_auth_keys
from sniffer.hep.stream import HepStreamSplitter
from sniffer.mirror.pool import SensorPool

log = logging.getLogger(__name__)

TCP_IDLE_TIMEOUT_S = 300.0
"""A HEP TCP connection silent this long is closed (agents reconnect)."""
TCP_QUIET_S = 2.0
"""A connection quiet this long with an incomplete packet pending: that packet's length was
garbage, the stream resynchronises after it."""
MAX_TCP_CONNECTIONS = 1024
READ_BYTES = 1 << 16
UDP_RCVBUF = 16 << 20


def _big_receive_buffer(sock: Any) -> None:
    """Agents send in bursts: a large socket buffer instead of the kernel's default 208 KiB
    (beyond ``net.core.rmem_max`` when running as root)."""
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, UDP_RCVBUF)
            return
        except OSError:
            continue


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, ingest: HepIngest, counters: Counters) -> None:
        self.ingest = ingest
        self.counters = counters

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.counters.inc("hep.udp_datagrams")
        self.ingest.put(data)

    def error_received(self, exc: Exception) -> None:
        self.counters.inc("hep.udp_errors")


class HepListeners:
    def __init__(self, settings: Settings, pool: SensorPool) -> None:
        h = settings.hep
        self.targets = [hep_target(t) for t in h.listen]
        self.counters = Counters()
        keys = load_auth_keys(h.auth_keys_file) if h.auth_keys_file is not None else {}
        self.ingest = HepIngest(pool, self.counters, auth_keys=keys)
        self.bound: list[tuple[str, str, int]] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._servers: list[asyncio.Server] = []
        self._tg: asyncio.TaskGroup | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for proto, host, port in self.targets:
            where = f"{proto}:{host}:{port}"
            try:
                if proto == "udp":
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _Udp(self.ingest, self.counters), local_addr=(host, port)
                    )
                    self._transports.append(transport)
                    _big_receive_buffer(transport.get_extra_info("socket"))
                    got = transport.get_extra_info("sockname")[1]
                else:
                    server = await asyncio.start_server(self._accept, host, port)
                    self._servers.append(server)
                    got = server.sockets[0].getsockname()[1]
            except OSError as exc:
                raise ConfigError(
                    f"hep.listen (CALLSIFT_HEP_LISTEN): cannot listen on {where}: "
                    f"{exc.strerror or exc}"
                ) from exc
            self.bound.append((proto, host, got))
            log.info("HEP listener on %s:%s:%d", proto, host, got)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tg is None or len(self._conns) >= MAX_TCP_CONNECTIONS:
            self.counters.inc("hep.tcp_refused")
            writer.close()
            return
        self.counters.inc("hep.tcp_connections")
        task = self._tg.create_task(self._connection(reader, writer))
        self._conns.add(task)
        task.add_done_callback(self._conns.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = HepStreamSplitter(self.counters)
        idle = 0.0
        try:
            while idle < TCP_IDLE_TIMEOUT_S:
                try:
                    async with asyncio.timeout(TCP_QUIET_S):
                        data = await reader.read(READ_BYTES)
                except TimeoutError:
                    idle += TCP_QUIET_S
                    if splitter.buf:  # quiet with an incomplete packet: its length was bogus
                        for pkt in splitter.feed(b"", eof=True):
                            self.ingest.put(pkt)
                    continue
                idle = 0.0
                for pkt in splitter.feed(data, eof=not data):
                    self.ingest.put(pkt)
                if not data:
                    break
                if len(self.ingest.queue) > self.ingest.max_queue // 2:
                    await asyncio.sleep(0.01)  # TCP can wait: backpressure, not drops
            else:
                self.counters.inc("hep.tcp_timeouts")
        except OSError:
            self.counters.inc("hep.tcp_errors")
        finally:
            writer.close()

    async def run(self, stop: asyncio.Event) -> None:
        if not self.bound:
            await self.start()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                consumer = tg.create_task(self.ingest.run(stop))
                await stop.wait()
                for server in self._servers:
                    server.close()
                for transport in self._transports:
                    transport.close()
                for task in list(self._conns):
                    task.cancel()
                await consumer
        finally:
            self._tg = None
