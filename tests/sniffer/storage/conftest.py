"""A TCP proxy in front of the real MariaDB, to cut and restore the way to it."""

from collections.abc import AsyncIterator

import pytest

from tests.sniffer.storage.proxy import TcpProxy


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    p = TcpProxy("127.0.0.1", 3306)
    await p.start()
    yield p
    await p.stop()
