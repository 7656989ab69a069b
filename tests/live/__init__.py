"""Live tests and benchmarks in network namespaces of their own: see tests/live/netns.py."""

from tests.live.netns import Netns
from tests.live.relay import Relay
from tests.live.sensor import SensorProcess

__all__ = ["Netns", "Relay", "SensorProcess"]
