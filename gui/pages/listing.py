"""A list page of the API (filters from the query string, keyset paging), shared by the
registrations, messages, audit and import pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from gui.client import ApiClient
from gui.errors import BadInput

PAGE = 100
MAX_VALUE = 255


class Listing:
    """The filters of a list page, kept in the URL, and its page of results."""

    def __init__(self, request: Request, names: tuple[str, ...], flags: tuple[str, ...] = ()):
        q = request.query_params
        self.values = {n: q[n].strip()[:MAX_VALUE] for n in names if (q.get(n) or "").strip()}
        self.flags = {n for n in flags if q.get(n) in ("1", "on", "true")}
        self.cursor = (q.get("cursor") or "")[:128] or None
        self.items: list[dict[str, Any]] = []
        self.next_cursor: str | None = None
        self.error: str | None = None

    def params(self) -> list[tuple[str, str]]:
        pairs = [*self.values.items(), *((f, "1") for f in sorted(self.flags))]
        return pairs

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def next_link(self) -> str:
        return "?" + urlencode([*self.params(), ("cursor", self.next_cursor or "")])

    async def load(self, api: ApiClient, token: str | None, path: str) -> Listing:
        """One page from ``GET path``; a rejected filter becomes :attr:`error`."""
        params = [*self.params(), ("limit", str(PAGE))]
        if self.cursor:
            params.append(("cursor", self.cursor))
        try:
            data = await api.get(path, token, params)
        except BadInput as exc:
            self.error = str(exc)
            return self
        self.items = data["items"]
        self.next_cursor = data.get("next_cursor")
        return self
