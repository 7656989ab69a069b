"""The call search of the calls page: the query string (the API's own filter names, so a search
can be bookmarked and shared) to the API's parameters, and back to links."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

TEXT_FILTERS = (
    "since",
    "until",
    "party",
    "caller",
    "called",
    "ip",
    "code",
    "outcome",
    "min_duration",
    "max_duration",
    "codec",
    "mos_below",
    "loss_above",
    "call_id",
    "vlan",
    "flag",
)
LIST_FILTERS = ("state", "sensor")
FIRST_ROW = frozenset({"party", "caller", "called", "ip", "since", "until"})
STATES = ("completed", "cancelled", "failed", "timeout", "unterminated", "shutdown")
OUTCOMES = ("answered", "unanswered", "failed", "cancelled")
PAGE_SIZES = (50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 100
MAX_VALUE = 255


class Search:
    """The criteria of one search, in the order of the form."""

    def __init__(self, query: QueryParams) -> None:
        self.values: dict[str, str] = {}
        for name in TEXT_FILTERS:
            value = (query.get(name) or "").strip()[:MAX_VALUE]
            if value:
                self.values[name] = value
        self.lists: dict[str, list[str]] = {}
        for name in LIST_FILTERS:
            values = [v.strip()[:MAX_VALUE] for v in query.getlist(name) if v.strip()]
            if values:
                self.lists[name] = values
        try:
            limit = int(query.get("limit") or DEFAULT_PAGE_SIZE)
        except ValueError:
            limit = DEFAULT_PAGE_SIZE
        self.limit = limit if limit in PAGE_SIZES else DEFAULT_PAGE_SIZE
        self.cursor = (query.get("cursor") or "")[:64] or None
        try:
            self.page = max(1, int(query.get("page") or 1))
        except ValueError:
            self.page = 1

    def criteria(self) -> list[tuple[str, str]]:
        """The filters as query pairs (no paging)."""
        pairs = list(self.values.items())
        for name, values in self.lists.items():
            pairs.extend((name, v) for v in values)
        return pairs

    def api_params(self) -> list[tuple[str, str]]:
        """Parameters of ``GET /calls``: the filters, the page size and the cursor."""
        pairs = [*self.criteria(), ("limit", str(self.limit))]
        if self.cursor:
            pairs.append(("cursor", self.cursor))
        return pairs

    def export_params(self, fmt: str = "csv") -> list[tuple[str, str]]:
        return [*self.criteria(), ("format", fmt)]

    @property
    def more_open(self) -> bool:
        """A filter beyond the first row is set: the "more filters" part shows open."""
        return bool(self.lists) or any(n not in FIRST_ROW for n in self.values)

    @property
    def empty(self) -> bool:
        return not self.values and not self.lists

    def link(self, **changes: str | None) -> str:
        """``?...`` of this search with ``changes`` (None removes a key)."""
        pairs = [*self.criteria()]
        if self.limit != DEFAULT_PAGE_SIZE:
            pairs.append(("limit", str(self.limit)))
        extra = {k: v for k, v in changes.items()}
        pairs = [(k, v) for k, v in pairs if k not in extra]
        pairs.extend((k, v) for k, v in extra.items() if v is not None)
        return "?" + urlencode(pairs) if pairs else "?"

    def next_link(self, next_cursor: str) -> str:
        return self.link(cursor=next_cursor, page=str(self.page + 1))

    def has(self, name: str, value: str) -> bool:
        return value in self.lists.get(name, ())

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def chips(search: Search, names: Iterable[str] = TEXT_FILTERS) -> list[tuple[str, str]]:
    """(filter, value) of the active filters, shown above the results."""
    out = [(n, search.values[n]) for n in names if n in search.values]
    for name, values in search.lists.items():
        out.extend((name, v) for v in values)
    return out
