"""Fixtures of the live-capture tests (test_live*.py use ``own_network``)."""

import socket
from collections.abc import Callable, Iterator

import pytest

from tests.live.netns import Netns


@pytest.fixture
def own_network(netns: Callable[[], Netns]) -> Iterator[Netns]:
    """The test thread (and the capture threads and processes it starts) in a new namespace."""
    ns = netns()
    with ns.entered():
        yield ns


@pytest.fixture
def udp_port() -> Iterator[int]:
    """A port on 127.0.0.1 with a socket bound to it (no ICMP unreachable for our sends)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        yield rx.getsockname()[1]
