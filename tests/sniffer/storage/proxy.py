"""A TCP proxy in front of MariaDB that tests stop and restart to simulate outages."""

import asyncio
import contextlib
import socket
from collections.abc import Callable

ListenFactory = Callable[[int], socket.socket]
"""Returns a bound, listening TCP socket on the given port (0: any free one)."""


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``. ``stop`` refuses new connections and cuts the
    open ones; ``start`` listens again on the same port. ``hang`` accepts and never answers.

    ``listen`` makes the listening socket instead (e.g. inside a network namespace, see
    tests/live/relay.py); connections to the target are made where the event loop runs."""

    def __init__(
        self, target_host: str, target_port: int, listen: ListenFactory | None = None
    ) -> None:
        self.target = (target_host, target_port)
        self.listen = listen
        self.port = 0
        self.hang = False
        self.frozen = False
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.listen is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        else:
            sock = await asyncio.to_thread(self.listen, self.port)
            self._server = await asyncio.start_server(self._handle, sock=sock)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        for t in list(self._pumps):
            t.cancel()
        for t in list(self._pumps):
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._writers.clear()
        self.frozen = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        if self.hang:
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    def freeze(self) -> None:
        """The server stalls: open connections stop carrying anything (without closing),
        new ones are accepted and never answered (``hang``), until :meth:`stop`."""
        self.hang = self.frozen = True

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                if self.frozen:
                    await asyncio.Event().wait()  # held until stop() cancels the pump
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.transport.abort()
