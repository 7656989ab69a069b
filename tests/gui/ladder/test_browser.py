"""ladder.js in a real browser (Debian's headless chromium): the self-contained HTML export is
loaded with a ``#m3`` deep link, a driver script clicks, presses keys and shift-clicks like a
user (once ladder.js has started, on DOMContentLoaded), and the DOM it leaves (``--dump-dom``)
tells what the pane showed at each step."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gui.ladder import Flow, build_ladder, render_html
from tests.gui.ladder.factory import basic_call, msg, sip_json

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow
DRIVER = """
document.addEventListener("DOMContentLoaded", function () {
  var steps = [];
  function state(name) {
    var sel = document.querySelector(".msg.sel"), sel2 = document.querySelector(".msg.sel2");
    var raw = document.querySelector(".ladder-raw");
    steps.push({
      step: name,
      sel: sel ? sel.id : null,
      sel2: sel2 ? sel2.id : null,
      hash: location.hash,
      title: document.querySelector(".ladder-pane-title").textContent,
      text: raw.textContent,
      html: raw.innerHTML,
      diff: raw.classList.contains("diff"),
      dels: raw.querySelectorAll(".diff-del").length,
      ins: raw.querySelectorAll(".diff-ins").length
    });
  }
  function key(k) {
    var target = document.activeElement || document.body;
    target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  }
  function click(id, shift) {
    document.getElementById(id).dispatchEvent(
      new MouseEvent("click", { bubbles: true, cancelable: true, shiftKey: !!shift }));
  }
  state("load");
  click("m1"); state("click m1");
  key("ArrowDown"); state("down");
  key("ArrowDown"); state("down again");
  key("ArrowUp"); state("up");
  click("m5", true); state("shift-click m5");
  key("Escape"); state("escape");
  key("e"); state("next error");
  key("r"); state("next retransmission");
  key("R"); state("previous retransmission");
  key("End"); state("end");
  key("ArrowDown"); state("down at the end");
  document.activeElement.blur();
  key("ArrowUp"); state("up with the focus outside");
  var out = document.createElement("pre");
  out.id = "driver-result";
  out.textContent = JSON.stringify(steps);
  document.body.appendChild(out);
});
"""


def _run(tmp_path: Path, page: str, fragment: str, driver: str = DRIVER) -> list[dict[str, Any]]:
    path = tmp_path / "ladder.html"
    path.write_text(page.replace("</body>", f"<script>{driver}</script></body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"{path.as_uri()}{fragment}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.search(r'<pre id="driver-result">(.*?)</pre>', dom, re.S)
    assert found is not None, dom[-2000:]
    text = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    steps: list[dict[str, Any]] = json.loads(text.replace("&amp;", "&"))
    return steps


def test_pane_keys_diff_and_deep_link(tmp_path: Path) -> None:
    items = basic_call()
    items[5] = {**items[5], "method": None, "status": 486, "reason": "Busy Here"}
    items[0]["raw"] = (
        "INVITE sip:bob@test SIP/2.0\r\nSubject: <img src=x onerror=alert(1)>\r\nCSeq: 1 INVITE\r\n\r\n"
    )
    items[4]["raw"] = (
        "SIP/2.0 200 OK\r\nSubject: <img src=x onerror=alert(1)>\r\nCSeq: 1 INVITE\r\nContact: <sip:b@x>\r\n\r\n"
    )
    page = render_html(build_ladder(Flow.from_api(sip_json(items))))
    steps = {s["step"]: s for s in _run(tmp_path, page, "#m3")}

    load = steps["load"]
    assert (load["sel"], load["hash"]) == ("m3", "#m3")
    assert load["title"].startswith("#3 180")

    first = steps["click m1"]
    assert (first["sel"], first["hash"]) == ("m1", "#m1")
    assert first["text"].startswith(
        "INVITE sip:bob@test SIP/2.0\nSubject: <img src=x onerror=alert(1)>"
    )
    assert "<img" not in first["html"] and "&lt;img" in first["html"]

    assert [steps[s]["sel"] for s in ("down", "down again", "up")] == ["m2", "m3", "m2"]

    diff = steps["shift-click m5"]
    assert (diff["sel"], diff["sel2"], diff["diff"]) == ("m2", "m5", True)
    assert diff["title"].startswith("Diff #2 → #5")
    assert diff["dels"] >= 1 and diff["ins"] >= 1

    back = steps["escape"]
    assert (back["sel"], back["sel2"], back["diff"]) == ("m2", None, False)
    assert steps["next error"]["sel"] == "m6"
    assert steps["next retransmission"]["sel"] == "m4"  # wraps around
    assert steps["previous retransmission"]["sel"] == "m4"
    assert steps["end"]["sel"] == "m8" and steps["down at the end"]["sel"] == "m8"
    assert steps["up with the focus outside"]["sel"] == "m8"  # the page scrolls instead


@pytest.mark.parametrize("fragment", ["#m99", ""])
def test_a_deep_link_to_no_message_selects_nothing(tmp_path: Path, fragment: str) -> None:
    page = render_html(build_ladder(Flow.from_api(sip_json(basic_call()))))
    load = _run(tmp_path, page, fragment)[0]
    assert load["sel"] is None and load["title"] == "No message selected"


SCROLL_DRIVER = """
document.addEventListener("DOMContentLoaded", function () {
  var steps = [];
  var scroller = document.querySelector(".ladder-scroll");
  var heads = document.querySelector("svg.ladder g.heads");
  function state(name) {
    var sel = document.querySelector(".msg.sel");
    var under = scroller.getBoundingClientRect().top + heads.getBBox().height;
    steps.push({
      step: name,
      sel: sel ? sel.id : null,
      scrolled: scroller.scrollTop,
      hidden: sel ? sel.getBoundingClientRect().top < under - 1 : null,
      heads: heads.getAttribute("transform")
    });
  }
  function key(k) {
    document.activeElement.dispatchEvent(
      new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  }
  state("load");
  for (var i = 0; i < 25; i++) { key("ArrowUp"); }
  state("up 25");
  var out = document.createElement("pre");
  out.id = "driver-result";
  out.textContent = JSON.stringify(steps);
  document.body.appendChild(out);
});
"""


def test_headers_stay_in_view_and_never_hide_the_selection(tmp_path: Path) -> None:
    items = [msg(i, i * 0.5, method="OPTIONS", via_branch=f"z{i}") for i in range(60)]
    page = render_html(build_ladder(Flow.from_api(sip_json(items))))
    load, up = _run(tmp_path, page, "#m50", SCROLL_DRIVER)
    assert load["sel"] == "m50" and load["scrolled"] > 0
    assert load["heads"] == f"translate(0,{load['scrolled']})"
    assert up["sel"] == "m25" and up["hidden"] is False
