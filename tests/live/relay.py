"""A TCP relay from inside a network namespace to a service of the host (MariaDB on
127.0.0.1:3306): the listening socket is made in the namespace, the connections to the target
in the host's, so no veth, address or port of the host is involved."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from tests.live.netns import Netns
from tests.sniffer.storage.proxy import TcpProxy

DB_TARGET = ("127.0.0.1", 3306)
CALL_TIMEOUT_S = 15.0


def _listener(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.setblocking(False)
    except BaseException:
        s.close()
        raise
    return s


class Relay:
    """``127.0.0.1:<port>`` inside ``ns`` -> ``target`` on the host, served by an event loop in
    a thread of its own. ``port=0`` picks a free one (read :attr:`port`). :meth:`down` refuses
    new connections and cuts the open ones (a database outage), :meth:`up` listens again on
    the same port. A context manager."""

    def __init__(self, ns: Netns, port: int = 3306, target: tuple[str, int] = DB_TARGET) -> None:
        self.ns = ns
        self.proxy = TcpProxy(*target, listen=lambda p: ns.call(_listener, p))
        self.proxy.port = port
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.proxy.port

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT_S)

    def __enter__(self) -> Relay:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"relay-{self.ns.name}", daemon=True
        )
        self.thread.start()
        try:
            self.up()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def down(self) -> None:
        self._call(self.proxy.stop())

    def up(self) -> None:
        self._call(self.proxy.start())

    def close(self) -> None:
        """Stop relaying and end the thread; idempotent."""
        loop, thread = self.loop, self.thread
        if loop is None or thread is None:
            return
        try:
            if thread.is_alive():
                self._call(self.proxy.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)
            if not thread.is_alive():
                loop.close()
            self.loop = self.thread = None
