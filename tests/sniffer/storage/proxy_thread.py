"""A :class:`TcpProxy` served by an event loop in a thread of its own, for tests that run
``callsift`` as a child process (nothing of the test's own loop needs to run meanwhile)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from tests.sniffer.storage.proxy import TcpProxy

CALL_TIMEOUT_S = 15.0


class ProxyThread:
    """``127.0.0.1:<port>`` -> ``target``; :meth:`down` refuses and cuts (an outage),
    :meth:`up` listens again on the same port, :meth:`hang` accepts and never answers (a
    database that took the connection and stalls). A context manager."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 3306)) -> None:
        self.proxy = TcpProxy(*target)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy", daemon=True)

    @property
    def port(self) -> int:
        return self.proxy.port

    def url(self, db_url: str) -> str:
        """``db_url`` (on 127.0.0.1:3306) through the proxy."""
        return db_url.replace(":3306/", f":{self.port}/")

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT_S)

    def __enter__(self) -> ProxyThread:
        self.thread.start()
        self._call(self.proxy.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call(self.proxy.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CALL_TIMEOUT_S)
            self.loop.close()

    def down(self) -> None:
        self._call(self.proxy.stop())

    def up(self) -> None:
        self.proxy.hang = False
        self._call(self.proxy.start())

    def hang(self) -> None:
        """New connections are accepted and never answered (the open ones keep working)."""
        self.proxy.hang = True
