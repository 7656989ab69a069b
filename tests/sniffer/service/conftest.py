from collections.abc import Callable, Iterator

import pytest

from tests.live import Netns, Relay


@pytest.fixture
def ns(netns: Callable[[], Netns]) -> Iterator[Netns]:
    """A live test's host: a namespace of its own whose 127.0.0.1:3306 is the host's
    MariaDB (through a relay)."""
    lab = netns()
    with Relay(lab, 3306):
        yield lab
