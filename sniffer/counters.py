"""Named event counters: every dropped, malformed or unexpected packet is counted by reason."""

import threading
from collections.abc import Iterator, Mapping


class Counters(Mapping[str, int]):
    """A flat ``reason -> count`` map.

    Hot paths may use ``self.data`` directly (``c.data[k] = c.data.get(k, 0) + 1``) to avoid a
    method call; everything else calls :meth:`inc`.
    """

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: dict[str, int] = {}

    def inc(self, reason: str, n: int = 1) -> None:
        self.data[reason] = self.data.get(reason, 0) + n

    def __getitem__(self, key: str) -> int:
        return self.data.get(key, 0)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def merge(self, other: Mapping[str, int], prefix: str = "") -> None:
        for k, v in other.items():
            self.inc(prefix + k, v)

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.data.items()))


class SharedCounters(Counters):
    """:class:`Counters` that several threads update (the CDR writer's thread and the threads
    that submit to it): :meth:`inc` and :meth:`snapshot` hold a lock."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def inc(self, reason: str, n: int = 1) -> None:
        with self._lock:
            self.data[reason] = self.data.get(reason, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.data.items()))
