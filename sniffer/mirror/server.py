"""The mirror receiver: accepts senders, one task per connection under the service's
TaskGroup, and keeps one :class:`~sniffer.mirror.remote.RemoteSensor` per sender name
(docs/MIRROR.md, "Receiver"). Garbage, oversized or truncated frames, a wrong version, a bad
MAC and silent or stalled senders end their own connection only (counted by reason)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import uuid
from pathlib import Path

from db.errors import ConfigError
from db.settings import Settings
from db.settings.base import parse_host_port
from sniffer.counters import Counters
from sniffer.mirror import auth
from sniffer.mirror.pool import SensorPool
from sniffer.mirror.remote import SPOOL_SUBDIR, STATE_DIR, RemoteSensor
from sniffer.mirror.session import Connection
from sniffer.privfiles import make_dirs
from sniffer.service.identity import write_json

log = logging.getLogger(__name__)

IDENTITY_PREFIX = "mirror:"


def receiver_id(spool_dir: Path) -> str:
    """This receiver's persistent id (``SPOOL/.mirror/receiver.json``): a sender that comes
    from another id has failed over."""
    path = spool_dir / STATE_DIR / "receiver.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return str(data["id"])
    except (OSError, ValueError):
        pass
    make_dirs(str(path.parent))
    rid = uuid.uuid4().hex
    write_json(path, {"id": rid, "host": socket.gethostname()})
    return rid


def server_tls(settings: Settings) -> ssl.SSLContext | None:
    m = settings.mirror
    if not m.tls:
        return None
    if m.tls_cert is None or m.tls_key is None:
        raise ConfigError("mirror.tls on the receiver needs mirror.tls_cert and mirror.tls_key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(m.tls_cert, m.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"mirror.tls_cert / mirror.tls_key: {exc}") from exc
    return ctx


class MirrorReceiver:
    def __init__(self, settings: Settings, pool: SensorPool) -> None:
        m = settings.mirror
        if m.listen is None:
            raise ConfigError("mirror.listen is not set")
        if m.secrets_file is None:
            raise ConfigError("--mirror-listen needs --mirror-secrets FILE (NAME SECRET lines)")
        self.settings = settings
        self.host, self.port = parse_host_port(m.listen)
        self.secrets = auth.load_secrets(m.secrets_file)
        self.tls = server_tls(settings)
        self.receiver_id = receiver_id(Path(settings.spool.dir))
        self.nonces = auth.NonceCache()
        self.counters = Counters()
        self.pool = pool
        self.connections: set[Connection] = set()
        self._tg: asyncio.TaskGroup | None = None
        self._done = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def sensors(self) -> dict[str, RemoteSensor]:
        """The senders' sensors by name."""
        return self.pool.of_kind(SPOOL_SUBDIR)

    @property
    def running(self) -> bool:
        return self._tg is not None and not self._done.is_set()

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self.accept, self.host, self.port, ssl=self.tls, limit=1 << 20
            )
        except OSError as exc:
            raise ConfigError(
                f"mirror.listen (CALLSIFT_MIRROR_LISTEN): cannot listen on "
                f"{self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        log.info(
            "mirror receiver %s listening on %s:%d for %d senders",
            self.receiver_id[:8], self.host, self.bound_port, len(self.secrets),
        )  # fmt: skip

    async def run(self, stop: asyncio.Event, *, listen: bool = True) -> None:
        """Serve until ``stop``; then the connections stop reading and what they queued is
        analysed and acknowledged (the pool closes the sensors after). Without ``listen``
        connections come through :meth:`accept` only."""
        if self._server is None and listen:
            await self.start()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                await stop.wait()
                if self._server is not None:
                    self._server.close()
                for conn in list(self.connections):
                    conn.stop()
                while self.connections:
                    await asyncio.sleep(0.05)
                self._done.set()
        finally:
            self._tg = None
            if self._server is not None:
                self._server.close()

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tg is None or self._done.is_set():
            writer.close()
            return
        if len(self.connections) >= self.settings.mirror.max_senders:
            self.counters.inc("refused.too_many_connections")
            writer.close()
            return
        self.counters.inc("connections")
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        self._tg.create_task(self._serve(conn))

    async def _serve(self, conn: Connection) -> None:
        try:
            await conn.run()
        except Exception:  # a bug in one connection never ends the receiver
            self.counters.inc("internal_errors")
            log.exception("mirror: connection from %s failed", conn.peer)
        finally:
            self.connections.discard(conn)

    async def sensor_for(self, name: str) -> RemoteSensor:
        """The sender's sensor, created (and its id claimed) on its first connection."""
        return await self.pool.get(IDENTITY_PREFIX + name, name, key=name, kind=SPOOL_SUBDIR)
