"""End to end in headless Chromium (Debian's, driven by Playwright): the real API and GUI
processes in a network namespace of their own, on the database the golden captures filled
(tests/api/conftest.py). Saves a screenshot of each main page into docs/screenshots/."""

import io
import os
import re
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.api.stackdata import GOLDEN, PASSWORDS, SENSOR_A, Stack
from tests.api.stackdata import cdr_id as _cdr_id
from tests.gui.services import Services

pytestmark = pytest.mark.slow

DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS_ENV = "CSTEST_SCREENSHOTS"
"""Set to 1 to write the screenshots over docs/screenshots/ (else they go to a temporary
directory, so a test run leaves the checkout clean)."""
G711_CALL = "12013223@200.57.7.195"
ULAW_CALL = "3cfe1c77155241bb89eb003ab8e2f87b"
VIEWPORT = {"width": 1440, "height": 900}


def cdr_id(url: str, call_id: str) -> int:
    """The call's id, asked from a thread of its own (Playwright's loop runs in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_cdr_id, url, call_id).result(60)


def _login(browser: Browser, live: Services, user: str) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{live.gui}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/calls$"))
    return ctx, page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get(SHOTS_ENV) == "1":
        return DOC_SHOTS
    return tmp_path_factory.mktemp("screenshots")


def _shot(page: Page, folder: Path, name: str, full: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


def _tshark_sip_count(pcap: Path, call_id: str) -> int:
    r = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "sip", "-T", "fields", "-E", "occurrence=a",
         "-E", "aggregator=|", "-e", "sip.Call-ID"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return sum(line.split("|").count(call_id) for line in r.stdout.splitlines())


def test_operator_journey(
    browser: Browser, live: Services, stack: Stack, tmp_path: Path, shots: Path
) -> None:
    anon = browser.new_context(viewport=VIEWPORT)
    login_page = anon.new_page()
    login_page.goto(f"{live.gui}/login")
    _shot(login_page, shots, "login")
    anon.close()

    ctx, page = _login(browser, live, "operator")
    _shot(page, shots, "calls")
    # search by number
    rec = stack.records[(SENSOR_A, G711_CALL)]
    cid = cdr_id(stack.url, G711_CALL)
    page.fill("input[name=party]", rec["caller"])
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*party=.*"))
    link = page.locator(f'a[href="/calls/{cid}"]')
    assert link.count() == 1
    # open the call: one msg per SIP message tshark sees for its Call-ID
    link.click()
    page.wait_for_url(f"{live.gui}/calls/{cid}")
    msgs = page.locator("#ladder svg .msg").count()
    _shot(page, shots, "call", full=True)
    with page.expect_download() as dl:
        page.click("text=Download pcap")
    download = dl.value
    assert download.suggested_filename.startswith(f"callsift-{cid}-")
    assert download.suggested_filename.endswith(".pcap")
    pcap = tmp_path / download.suggested_filename
    download.save_as(pcap)
    want = _tshark_sip_count(pcap, G711_CALL)
    assert want > 0 and msgs == want, (msgs, want)

    # audio: the player's URL is a valid WAV
    ulaw = cdr_id(stack.url, ULAW_CALL)
    page.goto(f"{live.gui}/calls/{ulaw}")
    src = page.locator("audio").first.get_attribute("src")
    assert src
    r = ctx.request.get(f"{live.gui}{src}")
    assert r.status == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.body())) as w:
        assert w.getframerate() == 8000 and w.getsampwidth() == 2 and w.getnframes() > 0

    for path, name in (
        ("/dashboard?since=2018-07-19T00:00:00&until=2018-07-20T00:00:00", "dashboard"),
        ("/live", "live"),
        ("/registrations", "registrations"),
        ("/messages", "messages"),
        ("/sensors", "sensors"),
    ):
        page.goto(f"{live.gui}{path}")
        assert page.locator("h1").count() == 1
        _shot(page, shots, name)

    # an upload through the import page yields its calls
    page.goto(f"{live.gui}/import")
    page.set_input_files("#file", str(GOLDEN / "sip_tcp6060_segmented_avaya_486_cancel.pcap"))
    page.click("form.inline-form button[type=submit]")
    page.wait_for_selector('#job[data-state="done"], #job[data-state="failed"]', timeout=180_000)
    assert page.locator("#job").get_attribute("data-state") == "done"
    page.click("#imported-calls")
    assert page.locator("table.calls tbody tr").count() >= 1
    page.goto(f"{live.gui}/import")
    _shot(page, shots, "import")
    ctx.close()


def test_viewer_sees_no_admin_and_cannot_download(
    browser: Browser, live: Services, stack: Stack
) -> None:
    ctx, page = _login(browser, live, "viewer")
    assert page.locator('a[href="/admin/users"]').count() == 0
    assert page.locator('a[href="/import"]').count() == 0
    cid = cdr_id(stack.url, G711_CALL)
    page.goto(f"{live.gui}/calls/{cid}")
    assert page.locator("text=Download pcap").count() == 0
    assert page.locator("audio").count() == 0
    assert ctx.request.get(f"{live.gui}/calls/{cid}/pcap").status == 403
    response = page.goto(f"{live.gui}/admin/users")
    assert response is not None and response.status == 403
    ctx.close()


def test_a_form_without_its_csrf_token_is_refused(
    browser: Browser, live: Services, shots: Path
) -> None:
    ctx, page = _login(browser, live, "admin")
    page.goto(f"{live.gui}/admin/users")
    _shot(page, shots, "admin-users")
    page.goto(f"{live.gui}/admin/tokens")
    page.fill("input[name=name]", "e2e-token")
    page.click("form.inline-form button[type=submit]")
    assert page.locator("#new-token").inner_text().startswith("cs_")
    _shot(page, shots, "admin-tokens")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_navigation():
        page.click("form.logout button[type=submit]")
    assert page.locator("h1").inner_text() == "Form refused"
    page.goto(f"{live.gui}/calls")
    assert page.url.endswith("/calls")  # still logged in: the forged form did nothing
    ctx.close()
