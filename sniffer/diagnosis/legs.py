"""Linking the legs of one call seen by one sensor (docs/DIAGNOSIS.md "Legs").

Every call gets a ``leg_group``: the uid of the first leg it was linked to, or its own. Links
are found in two places:

* by signalling, when a call's INVITE (or a response to it) brings its keys: a correlation
  header value equal to another call's Call-ID or correlation value (``x-cid``), a shared
  RFC 7989 Session-ID uuid (``session-id``) or P-Charging-Vector icid-value (``icid``);
* by media, when the record is built: one of its RTP streams has the SSRC of a stream of a
  call already recorded, both starting and ending within ``same_media_window_s``
  (``same-media``).

Keys are remembered for ``leg_window_s`` after a call is recorded (bounded), so the legs of
one call may end in any order.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from db.records import LegLink

MAX_KEYS = 100_000
"""Keys remembered at once (oldest forgotten first): memory stays bounded."""


@dataclass(slots=True)
class LegState:
    """A call's place among the legs."""

    uid: str
    call_id: str
    ts: float
    """Start of the call; its end once it is recorded (``closed``)."""
    group: str
    links: list[LegLink] = field(default_factory=list)
    linked: set[str] = field(default_factory=set)
    closed: bool = False

    def link(self, other: LegState, reason: str) -> None:
        if other.uid == self.uid or other.uid in self.linked:
            return
        if not self.links and self.group == self.uid:
            self.group = other.group
        self.linked.add(other.uid)
        self.links.append(LegLink(other.uid, other.call_id, reason))


@dataclass(slots=True)
class MediaSpan:
    ssrc: int
    first_ts: float
    last_ts: float


class LegIndex:
    """The keys of the open and recently recorded calls of one sensor: those of open calls
    apart (never expired, bounded), those of recorded calls in the order they were recorded
    (expired from the oldest, bounded)."""

    def __init__(self, window_s: float, media_window_s: float, max_keys: int = MAX_KEYS) -> None:
        self.window_s = window_s
        self.media_window_s = media_window_s
        self.max_keys = max_keys
        self._open: OrderedDict[tuple[str, str], LegState] = OrderedDict()
        self._closed: OrderedDict[tuple[str, str], LegState] = OrderedDict()
        self._ssrcs: OrderedDict[int, list[tuple[MediaSpan, LegState]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open) + len(self._closed)

    def _remember(self, key: tuple[str, str], leg: LegState) -> None:
        self._closed.pop(key, None)
        self._open[key] = leg
        self._open.move_to_end(key)
        while len(self._open) > self.max_keys:  # calls whose record was never built
            self._open.popitem(last=False)

    def _holder(self, key: tuple[str, str]) -> LegState | None:
        other = self._open.get(key)
        return other if other is not None else self._closed.get(key)

    def _find(self, key: tuple[str, str], leg: LegState) -> LegState | None:
        other = self._holder(key)
        if other is None or other is leg or (other.closed and leg.ts - other.ts > self.window_s):
            return None
        return other

    def add_keys(self, leg: LegState, kind: str, values: list[str]) -> None:
        """New keys of ``leg``: ``kind`` is ``cid`` (correlation header values),
        ``session-id`` or ``icid``. Links ``leg`` to the calls holding the same key."""
        reason = "x-cid" if kind == "cid" else kind
        for value in values:
            key = (kind, value)
            other = self._find(key, leg)
            if other is None and kind == "cid":
                other = self._find(("call-id", value), leg)
            if other is not None:
                leg.link(other, reason)
            if other is None or self._holder(key) is None:
                self._remember(key, leg)

    def add_call_id(self, leg: LegState) -> None:
        key = ("call-id", leg.call_id)
        self._remember(key, leg)
        other = self._find(("cid", leg.call_id), leg)
        if other is not None:
            leg.link(other, "x-cid")

    def add_media(self, leg: LegState, spans: list[MediaSpan]) -> None:
        """The streams of a call being recorded: link it to recorded calls that carried the same
        SSRC at the same time, then remember its own."""
        w = self.media_window_s
        for span in spans:
            for other_span, other in self._ssrcs.get(span.ssrc, ()):
                if (
                    other is not leg
                    and abs(other_span.first_ts - span.first_ts) <= w
                    and abs(other_span.last_ts - span.last_ts) <= w
                ):
                    leg.link(other, "same-media")
        for span in spans:
            entries = self._ssrcs.setdefault(span.ssrc, [])
            entries.append((span, leg))
            del entries[:-4]
            self._ssrcs.move_to_end(span.ssrc)
        while len(self._ssrcs) > self.max_keys:
            self._ssrcs.popitem(last=False)

    def close(self, leg: LegState, end_ts: float, keys: list[tuple[str, str]]) -> None:
        """``leg`` is recorded: its keys are kept ``window_s`` from its end."""
        leg.closed = True
        leg.ts = end_ts
        for key in keys:
            if self._open.get(key) is leg:
                del self._open[key]
                self._closed[key] = leg
        while len(self._closed) > self.max_keys:
            self._closed.popitem(last=False)

    def expire(self, now: float) -> None:
        """Forget the keys of calls recorded more than the window ago."""
        horizon = now - self.window_s
        closed = self._closed
        while closed:
            key, leg = next(iter(closed.items()))
            if leg.ts >= horizon:
                break
            del closed[key]
        while self._ssrcs:
            _ssrc, entries = next(iter(self._ssrcs.items()))
            if any(span.last_ts >= horizon for span, _leg in entries):
                break
            self._ssrcs.popitem(last=False)
