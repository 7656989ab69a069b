"""The GUI at phone width (390 px, an iPhone 12-15) in headless Chromium: the calls list with
calls, with no result, the API down, and a call's page. The page body never scrolls sideways
(wide content such as the ladder or a raw SIP message scrolls inside its own box) and
the content that matters is on screen."""

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, Page

from tests.api.stackdata import PASSWORDS, Stack
from tests.api.stackdata import cdr_id as _cdr_id
from tests.gui.conftest import GUI_SECRET
from tests.gui.services import GUI_PORT, Services, _callsift, _stop, _wait
from tests.gui.test_browser import G711_CALL

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DEAD_API_GUI_PORT = GUI_PORT + 1
"""A second GUI whose API address answers nothing (port 9 in the namespace: discard, closed)."""


def cdr_id(url: str, call_id: str) -> int:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_cdr_id, url, call_id).result(60)


def no_sideways_scroll(page: Page) -> None:
    """At 390 px: the page's width (and the layout viewport's: a phone zooms out to show a page
    wider than the screen) stays the screen's."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths) <= PHONE["width"], (page.url, widths)


def on_screen(page: Page, selector: str) -> None:
    """The first match is visible and starts within the viewport's width."""
    loc = page.locator(selector).first
    assert loc.is_visible(), selector
    box = loc.bounding_box()
    assert box is not None and 0 <= box["x"] < PHONE["width"], (selector, box)


@pytest.fixture(scope="module")
def phone(browser: Browser, live: Services) -> Iterator[Page]:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{live.gui}/login")
    no_sideways_scroll(page)
    page.fill("#username", "operator")
    page.fill("#password", PASSWORDS["operator"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/calls$"))
    yield page
    ctx.close()


def test_calls_list_with_calls(phone: Page) -> None:
    assert phone.locator("table.calls tbody tr").count() > 1
    no_sideways_scroll(phone)
    for selector in ("h1", "input[name=party]", "form.filters button[type=submit]",
                     "table.calls tbody tr td a", "header.top form.logout button"):  # fmt: skip
        on_screen(phone, selector)
    phone.click("form.filters details summary")  # the other filters, opened
    no_sideways_scroll(phone)


def test_calls_list_without_a_result(phone: Page, live: Services) -> None:
    phone.goto(f"{live.gui}/calls?party=no-such-number-0000")
    assert phone.locator("table.calls").count() == 0
    no_sideways_scroll(phone)
    on_screen(phone, "p.empty")
    assert phone.locator("p.empty").inner_text() == "No call matches this search."


def test_call_page(phone: Page, live: Services, stack: Stack) -> None:
    cid = cdr_id(stack.url, G711_CALL)
    phone.goto(f"{live.gui}/calls/{cid}")
    phone.wait_for_selector("#ladder svg .msg")
    no_sideways_scroll(phone)
    for selector in ("h1", "dl.summary", "#ladder", "text=Download pcap"):
        on_screen(phone, selector)
    phone.locator("#ladder svg .msg text").first.click()  # its raw SIP in the pane
    assert phone.locator("pre.ladder-raw").inner_text().startswith("INVITE ")
    no_sideways_scroll(phone)
    on_screen(phone, "pre.ladder-raw")


def test_api_down_is_a_clear_error_page(phone: Page, live: Services, tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    """Another GUI, same session key, its API gone: the calls page says so in one sentence
    (503), at phone width, with no trace of a stack."""
    log = tmp_path_factory.mktemp("gui-dead-api") / "gui.log"
    gui = f"http://127.0.0.1:{DEAD_API_GUI_PORT}"
    with log.open("ab") as out:
        proc = live.ns.popen(
            [_callsift(), "gui", "--api", "http://127.0.0.1:9", "--host", "127.0.0.1",
             "--port", str(DEAD_API_GUI_PORT)],
            env={"CALLSIFT_GUI_SECRET_KEY": GUI_SECRET, "PATH": "/usr/bin:/bin"},
            stdout=out, stderr=out,
        )  # fmt: skip
        try:
            _wait(live.ns, f"{gui}/login", proc, log)
            response = phone.goto(f"{gui}/calls")  # the session cookie is the same host's
            assert response is not None and response.status == 503
            no_sideways_scroll(phone)
            on_screen(phone, "p.alert")
            text = phone.locator("main").inner_text()
            assert "cannot be reached" in phone.locator("p.alert").inner_text()
            assert "Traceback" not in text and 'File "' not in text
        finally:
            _stop(proc)
