"""Dashboard, live calls, registrations, messages, sensors, import and admin pages against the
real API and database (in process)."""

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.stackdata import GOLDEN, Stack, _create_user, run
from tests.gui.conftest import gui_login

PAGES = ("/dashboard", "/live", "/registrations", "/messages", "/sensors")


def test_every_page_answers_for_a_viewer(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    for path in PAGES:
        r = gui.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert "<h1>" in r.text


def test_dashboard_ranges(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    for rng in ("1h", "24h", "7d", "30d"):
        r = gui.get("/dashboard", params={"range": rng})
        assert r.status_code == 200 and "ASR" in r.text and "<svg" in r.text
    assert gui.get("/dashboard", params={"range": "1y"}).status_code == 422


def test_registration_views(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    for view in ("current", "history", "failures"):
        r = gui.get("/registrations", params={"view": view})
        assert r.status_code == 200
    current = gui.get("/registrations").text
    assert "<td>" in current  # the golden captures hold REGISTERs
    assert gui.get("/registrations", params={"view": "history", "since": "x"}).status_code == 400


def test_sensors_page_lists_the_sensors(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    r = gui.get("/sensors")
    assert r.status_code == 200
    # `analyze --sensor-id` registers no sensor row: the page then tells how to get one
    assert "<table>" in r.text or "No sensor has reported yet" in r.text


def test_live_page_refreshes_and_pauses(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    assert 'http-equiv="refresh"' in gui.get("/live").text
    assert 'http-equiv="refresh"' not in gui.get("/live?refresh=0").text


def test_viewer_sees_no_admin_or_import(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    page = gui.get("/calls").text
    assert 'href="/admin/users"' not in page and 'href="/import"' not in page
    for path in ("/admin/users", "/admin/tokens", "/admin/aliases", "/admin/audit", "/import"):
        assert gui.get(path).status_code == 403, path


def test_operator_sees_import_not_admin(gui: TestClient) -> None:
    gui_login(gui, "operator")
    page = gui.get("/calls").text
    assert 'href="/import"' in page and 'href="/admin/users"' not in page
    assert gui.get("/admin/users").status_code == 403


def _import(gui: TestClient, csrf: str, path: Path, name: str) -> str:
    with path.open("rb") as f:
        r = gui.post("/import", data={"csrf_token": csrf}, files={"file": (name, f)})
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def _wait_job(gui: TestClient, where: str) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        page = gui.get(where).text
        state = re.search(r'data-state="(\w+)"', page)
        assert state, page
        if state.group(1) in ("done", "failed"):
            return page
        time.sleep(0.5)
    raise AssertionError("import did not finish")


def test_import_a_capture(gui: TestClient, stack: Stack) -> None:
    csrf = gui_login(gui, "operator")
    where = _import(gui, csrf, GOLDEN / "sip_sctp_sll_403.pcap", "customer.pcap")
    page = _wait_job(gui, where)
    assert 'id="imported-calls"' in page, page
    link = re.search(r'id="imported-calls" href="([^"]+)"', page)
    assert link
    calls = gui.get(link.group(1)).text
    assert re.search(r'<a href="/calls/\d+">', calls)


def test_import_of_a_bad_file_says_why(gui: TestClient, tmp_path: Path) -> None:
    csrf = gui_login(gui, "operator")
    bad = tmp_path / "notes.pcap"
    bad.write_bytes(b"this is not a capture at all\n" * 10)
    with bad.open("rb") as f:
        r = gui.post("/import", data={"csrf_token": csrf}, files={"file": ("notes.pcap", f)})
    if r.status_code == 303:  # refused by the analysis rather than at upload
        page = _wait_job(gui, r.headers["location"])
        assert "could not be imported" in page
    else:
        assert r.status_code == 400 and 'role="alert"' in r.text


def test_import_without_csrf_is_refused(gui: TestClient) -> None:
    gui_login(gui, "operator")
    r = gui.post("/import", files={"file": ("a.pcap", b"\xd4\xc3\xb2\xa1" + b"\0" * 20)})
    assert r.status_code == 403


def test_import_too_large_is_refused(gui: TestClient) -> None:
    csrf = gui_login(gui, "operator")
    gui.app.state.config = gui.app.state.config.__class__(  # type: ignore[attr-defined]
        api_url="http://api.test", secret_key="k" * 32, import_max_bytes=1024
    )
    r = gui.post("/import", data={"csrf_token": csrf}, files={"file": ("a.pcap", b"\0" * 4096)})
    assert r.status_code == 413 and "larger than" in r.text


def test_admin_token_is_shown_once(gui: TestClient) -> None:
    csrf = gui_login(gui, "admin")
    r = gui.post("/admin/tokens", data={"csrf_token": csrf, "name": "gui-test", "role": "viewer"})
    assert r.status_code == 201
    secret = re.search(r'<code id="new-token">([^<]+)</code>', r.text)
    assert secret and secret.group(1).startswith("cs_")
    again = gui.get("/admin/tokens").text
    assert "gui-test" in again and secret.group(1) not in again
    tid = re.search(r'action="/admin/tokens/(\d+)/revoke"', again)
    assert tid
    r = gui.post(f"/admin/tokens/{tid.group(1)}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 303


def test_admin_user_lifecycle(gui: TestClient) -> None:
    csrf = gui_login(gui, "admin")
    form = {"csrf_token": csrf, "username": "newbie", "password": "short", "role": "viewer"}
    r = gui.post("/admin/users", data=form)
    assert r.status_code == 400 and 'role="alert"' in r.text
    form["password"] = "a-Long-enough-passphrase-42"
    assert gui.post("/admin/users", data=form).status_code == 303
    page = gui.get("/admin/users").text
    uid = re.search(
        r'action="/admin/users/(\d+)">[^<]*<input[^>]*>\s*<input type="hidden" name="action" value="role">\s*<label class="sr-only" for="role-\d+">Role of newbie',
        page,
    )
    assert uid, page
    r = gui.post(f"/admin/users/{uid.group(1)}", data={"csrf_token": csrf, "action": "disable"})
    assert r.status_code == 303
    assert gui.post("/admin/users", data={"username": "x"}).status_code == 403  # no CSRF token


def test_admin_aliases(gui: TestClient) -> None:
    csrf = gui_login(gui, "admin")
    r = gui.post(
        "/admin/aliases", data={"csrf_token": csrf, "ip": "192.0.2.99", "alias": "Test SBC"}
    )
    assert r.status_code == 303
    assert "Test SBC" in gui.get("/admin/aliases").text
    r = gui.post(
        "/admin/aliases", data={"csrf_token": csrf, "ip": "192.0.2.99", "action": "delete"}
    )
    assert r.status_code == 303 and "Test SBC" not in gui.get("/admin/aliases").text
    r = gui.post("/admin/aliases", data={"csrf_token": csrf, "ip": "not-an-ip", "alias": "x"})
    assert r.status_code == 400


def test_change_own_password(gui: TestClient, stack: Stack) -> None:
    run(_create_user(stack.url, "changer", "viewer"))
    page = gui.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = gui.post(
        "/login",
        data={"username": "changer", "password": "V1ewer-secret-pass", "csrf_token": csrf.group(1)},
    )
    assert r.status_code == 303
    csrf2 = re.search(r'name="csrf_token" value="([^"]+)"', gui.get("/account").text)
    assert csrf2
    form = {"csrf_token": csrf2.group(1), "current_password": "V1ewer-secret-pass"}
    r = gui.post("/account/password", data=form | {"new_password": "x" * 12, "again": "y" * 12})
    assert r.status_code == 400 and "differ" in r.text
    new = "a-Brand-new-passphrase-7"
    r = gui.post("/account/password", data=form | {"new_password": new, "again": new})
    assert r.status_code == 303 and r.headers["location"] == "/login?why=password"


def test_dashboard_of_a_chosen_day(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    r = gui.get(
        "/dashboard", params={"since": "2018-07-19T00:00:00", "until": "2018-07-20T00:00:00"}
    )
    assert r.status_code == 200
    calls = re.search(r'<div class="v">(\d+)</div><div class="l">calls', r.text)
    assert calls and int(calls.group(1)) > 0  # the Avaya capture's day
    assert "Top failing destinations" in r.text
    r = gui.get(
        "/dashboard", params={"since": "2018-07-20T00:00:00", "until": "2018-07-19T00:00:00"}
    )
    assert r.status_code == 400 and "until" in r.text
