"""Pages rendered from canned API answers (a fake API): the visual cues and empty states that
the golden data set does not reach (stale sensors, a fresh install, a failing API)."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gui.app import create_app
from gui.render import code_class, duration, loss_class, mos_class, ts
from tests.gui.conftest import csrf_of, gui_config

Answer = Callable[[httpx.Request], httpx.Response]

SENSOR = {
    "id": 3, "name": "edge-3", "host": "h3", "version": "0.1.0", "kind": "sensor",
    "status": "stale", "heartbeat_age_s": 600.0, "first_seen": None, "last_heartbeat": None,
    "packets_per_s": 0.0, "kernel_drops": 12, "queue_drops": 0, "active_calls": 0,
    "parse_errors": 0, "journal_backlog": 40, "counters": {},
}  # fmt: skip


def fake_api(routes: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == "/auth/login":
            return httpx.Response(
                200,
                json={"access_token": "t", "expires_in": 3600, "username": "ann", "role": "viewer"},
            )
        answer = routes.get(path)
        if answer is None:
            return httpx.Response(404, json={"message": f"no {path}"})
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    return httpx.MockTransport(handler)


@pytest.fixture
def browser() -> Iterator[Callable[[dict[str, Any]], TestClient]]:
    opened: list[TestClient] = []

    def make(routes: dict[str, Any]) -> TestClient:
        c = TestClient(create_app(gui_config(), transport=fake_api(routes)), follow_redirects=False)
        c.__enter__()
        opened.append(c)
        csrf = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"username": "ann", "password": "pw", "csrf_token": csrf})
        assert r.status_code == 303
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def test_stale_sensor_is_highlighted(browser: Callable[[dict[str, Any]], TestClient]) -> None:
    gui = browser({"/sensors": {"items": [SENSOR]}})
    page = gui.get("/sensors").text
    assert '<tr class="stale">' in page and 'class="status-stale">stale<' in page
    assert '<td class="n bad">12</td>' in page  # kernel drops


def test_fresh_install_tells_how_to_get_calls_in(
    browser: Callable[[dict[str, Any]], TestClient],
) -> None:
    gui = browser({"/calls": {"items": [], "next_cursor": None}, "/sensors": {"items": []}})
    page = gui.get("/calls").text
    assert "No calls yet" in page and "callsift sniff" in page and "callsift analyze" in page
    searched = gui.get("/calls?party=999").text
    assert "No calls yet" not in searched and "No call matches this search" in searched


def test_api_down_is_a_503_page(browser: Callable[[dict[str, Any]], TestClient]) -> None:
    gui = browser(
        {"/sensors": httpx.Response(503, json={"message": "the database is unavailable"})}
    )
    r = gui.get("/sensors")
    assert r.status_code == 503 and "the database is unavailable" in r.text


def test_filters() -> None:
    assert ts("2026-11-26T06:57:00.123456Z") == "2026-11-26 06:57:00"
    assert ts(None) == "" and ts("garbage") == "garbage"
    assert duration(75.4) == "1:15" and duration(3723) == "1:02:03" and duration(None) == ""
    assert (mos_class(2.9), mos_class(3.4), mos_class(4.3), mos_class(None)) == (
        "bad", "poor", "good", "",
    )  # fmt: skip
    assert (loss_class(6), loss_class(2), loss_class(0.1)) == ("bad", "poor", "")
    assert code_class(486) == "failed" and code_class(487) == "cancelled"
    assert code_class(200, "unterminated") == "" and code_class(None, "timeout") == "failed"


def test_times_are_shown_in_utc() -> None:
    assert ts("2026-11-26T06:57:00Z") == "2026-11-26 06:57:00"
    assert ts("2026-11-26T06:57:00.5Z", with_date=False) == "06:57:00"
    assert ts("2026-11-26T08:57:00+02:00") == "2026-11-26 06:57:00"
