"""The GUI in process against the real API (tests/api/conftest.py's stack: MariaDB filled by
``callsift analyze`` from golden captures), its HTTP client routed into the API's TestClient;
for the browser tests (test_browser.py, test_phone.py), the real API and GUI processes
(``live``) and headless Chromium inside their namespace (``browser``)."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient

from gui.app import create_app
from gui.config import GuiConfig
from tests.api.stackdata import PASSWORDS, SECRET, Stack
from tests.gui.services import Services, services

if TYPE_CHECKING:
    from playwright.sync_api import Browser

GUI_SECRET = "gui-test-secret-0123456789-abcdefghijklmnop"
CHROMIUM = "/usr/bin/chromium"


class ViaTestClient(httpx.AsyncBaseTransport):
    """The GUI's requests to the API, answered by the API app in its TestClient."""

    def __init__(self, api: TestClient) -> None:
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}

        def call() -> httpx.Response:
            return self.api.request(request.method, str(request.url), headers=headers, content=body)

        r = await anyio.to_thread.run_sync(call)
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)


def gui_config(**changes: object) -> GuiConfig:
    base: dict[str, object] = {"api_url": "http://api.test", "secret_key": GUI_SECRET}
    return GuiConfig(**(base | changes))  # type: ignore[arg-type]


@pytest.fixture
def gui(client: TestClient, stack: Stack) -> Iterator[TestClient]:
    """A browser-like client of the GUI (its own cookies), not logged in."""
    app = create_app(gui_config(), transport=ViaTestClient(client))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def gui_login(gui: TestClient, user: str) -> str:
    """Log ``user`` in through the login form; the session's CSRF token."""
    page = gui.get("/login")
    assert page.status_code == 200
    r = gui.post(
        "/login",
        data={"username": user, "password": PASSWORDS[user], "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/calls"
    return csrf_of(gui.get("/calls").text)


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    logs = tmp_path_factory.mktemp("gui-e2e")
    with services(stack.url, stack.spool, SECRET, GUI_SECRET, logs) as s:
        yield s


@pytest.fixture(scope="module")
def browser(live: Services) -> Iterator["Browser"]:
    from playwright.sync_api import sync_playwright  # only the browser tests pay its import

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with live.ns.entered(), sync_playwright() as p:  # the browser inside the namespace
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()
