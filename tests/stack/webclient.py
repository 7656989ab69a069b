"""A browserless client for the GUI in the stack test: a cookie jar, the login form's hidden
fields (its CSRF token) posted back with the credentials, links found in the pages."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from html.parser import HTMLParser

TIMEOUT_S = 15.0
MSG_CLASS = re.compile(r"""class\s*=\s*["'](?:[^"']*\s)?msg(?:\s[^"']*)?["']""")
"""An element whose class list holds ``msg`` (one per SIP message in the ladder)."""


class _Forms(HTMLParser):
    """The inputs of the first form and every link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self.links: list[str] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form, self.action = True, a.get("action", "")
        elif tag == "input" and self._in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def parse(page: str) -> _Forms:
    p = _Forms()
    p.feed(page)
    return p


class GuiClient:
    """One logged-in session of the GUI at ``base`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, bytes]:
        """The final URL (after redirects) and the body."""
        with self.opener.open(urllib.parse.urljoin(self.base + "/", path), timeout=TIMEOUT_S) as r:
            return r.geturl(), r.read()

    def login(self, username: str, password: str) -> str:
        """Post the login form with its hidden fields; the page it lands on (``/calls``)."""
        _url, body = self.get("/login")
        form = parse(body.decode())
        assert "username" in form.fields and "password" in form.fields, form.fields
        fields = dict(form.fields, username=username, password=password)
        action = urllib.parse.urljoin(self.base + "/login", form.action or "/login")
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(action, data=data, timeout=TIMEOUT_S) as r:
            landed, page = r.geturl(), r.read().decode()
        assert urllib.parse.urlsplit(landed).path.rstrip("/") == "/calls", (landed, page[:500])
        return page


def call_links(page: str) -> list[str]:
    """Links to call pages (``/calls/<id>``) in a calls list."""
    return [h for h in parse(page).links if re.fullmatch(r"/calls/\d+", h.split("?")[0])]


def msg_count(page: str) -> int:
    return len(MSG_CLASS.findall(page))
