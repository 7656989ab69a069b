"""The GUI's pages against the real API and database (in process): login, CSRF, roles, the
calls search, one call with its ladder, downloads."""

import io
import re
import subprocess
import wave
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.stackdata import SENSOR_A, Stack, cdr_id
from tests.gui.conftest import csrf_of, gui_login

G711_CALL = "12013223@200.57.7.195"
ULAW_CALL = "3cfe1c77155241bb89eb003ab8e2f87b"


def test_login_page_and_cookie_flags(gui: TestClient) -> None:
    r = gui.get("/login")
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'name="password"' in r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert r.headers["x-frame-options"] == "DENY"


def test_pages_need_a_login(gui: TestClient) -> None:
    r = gui.get("/calls?party=1001")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?why=login&next=%2Fcalls%3Fparty%3D1001"


def test_wrong_password_is_said(gui: TestClient) -> None:
    csrf = csrf_of(gui.get("/login").text)
    r = gui.post(
        "/login", data={"username": "viewer", "password": "nope-nope-nope", "csrf_token": csrf}
    )
    assert r.status_code == 401 and "Wrong user name or password" in r.text


def test_a_form_without_its_csrf_token_is_refused(gui: TestClient) -> None:
    r = gui.post("/login", data={"username": "viewer", "password": "x"})
    assert r.status_code == 403 and "Form refused" in r.text
    gui_login(gui, "viewer")
    r = gui.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert gui.get("/calls").status_code == 200  # still logged in


def test_login_then_logout(gui: TestClient) -> None:
    csrf = gui_login(gui, "viewer")
    r = gui.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login?why=logout"
    assert gui.get("/calls").status_code == 303


def test_next_stays_on_this_site(gui: TestClient) -> None:
    csrf = csrf_of(gui.get("/login").text)
    for target, want in (("//evil.example/x", "/calls"), ("/calls?party=1*", "/calls?party=1*")):
        r = gui.post(
            "/login",
            data={
                "username": "viewer",
                "password": "V1ewer-secret-pass",
                "csrf_token": csrf,
                "next": target,
            },
        )
        assert r.headers["location"] == want
        csrf = csrf_of(gui.get("/calls").text)


def test_calls_search_by_number(gui: TestClient, stack: Stack) -> None:
    gui_login(gui, "viewer")
    rec = stack.records[(SENSOR_A, G711_CALL)]
    # on its own sensor: other modules' imports of the same capture share this database
    r = gui.get("/calls", params={"party": rec["caller"], "sensor": SENSOR_A})
    assert r.status_code == 200
    cid = cdr_id(stack.url, G711_CALL)
    assert f'href="/calls/{cid}"' in r.text
    assert f'value="{rec["caller"]}"' in r.text  # the search stays in the form
    rows = re.findall(r'<a href="/calls/(\d+)">', r.text)
    assert rows and all(rec["caller"] in gui.get(f"/calls/{i}").text for i in rows)


def test_bad_filter_is_shown(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    r = gui.get("/calls", params={"mos_below": "7"})
    assert r.status_code == 400 and "mos_below" in r.text


def test_keyset_paging(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    first = gui.get("/calls?limit=50")
    seen = re.findall(r'<a href="/calls/(\d+)">', first.text)
    nxt = re.search(r'rel="next" href="([^"]+)"', first.text)
    if nxt:  # the golden set has fewer than 50 calls: no second page then
        second = gui.get(nxt.group(1).replace("&amp;", "&"))
        assert not set(seen) & set(re.findall(r'<a href="/calls/(\d+)">', second.text))
    assert len(seen) == len(set(seen)) > 0


def test_csv_export_of_the_search(gui: TestClient, stack: Stack) -> None:
    gui_login(gui, "viewer")
    rec = stack.records[(SENSOR_A, G711_CALL)]
    r = gui.get("/calls/export.csv", params={"call_id": G711_CALL})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert len(lines) >= 2 and rec["caller"] in lines[1]


def test_call_page_ladder_has_a_msg_per_sip_message(gui: TestClient, stack: Stack) -> None:
    gui_login(gui, "viewer")
    cid = cdr_id(stack.url, G711_CALL)
    r = gui.get(f"/calls/{cid}")
    assert r.status_code == 200
    svg = r.text[r.text.index("<svg") : r.text.index("</svg>")]
    msgs = re.findall(r'<g class="msg[ "]', svg)
    assert len(msgs) == stack.records[(SENSOR_A, G711_CALL)]["sip_messages"]
    assert "Download pcap" not in r.text  # a viewer gets no pcap or audio


def test_viewer_cannot_download_or_see_admin(gui: TestClient, stack: Stack) -> None:
    gui_login(gui, "viewer")
    cid = cdr_id(stack.url, G711_CALL)
    assert gui.get(f"/calls/{cid}/pcap").status_code == 403
    assert gui.get(f"/calls/{cid}/audio.wav").status_code == 403


def test_operator_downloads_pcap_and_audio(gui: TestClient, stack: Stack, tmp_path: Path) -> None:
    gui_login(gui, "operator")
    cid = cdr_id(stack.url, ULAW_CALL)
    page = gui.get(f"/calls/{cid}").text
    assert "Download pcap" in page and f"/calls/{cid}/audio.wav?dir=stereo" in page
    r = gui.get(f"/calls/{cid}/pcap")
    assert r.status_code == 200
    name = re.search(r'filename="([^"]+)"', r.headers["content-disposition"])
    assert name and name.group(1).startswith(f"callsift-{cid}-") and name.group(1).endswith(".pcap")
    path = tmp_path / name.group(1)
    path.write_bytes(r.content)
    out = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "sip"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "INVITE" in out.stdout
    r = gui.get(f"/calls/{cid}/audio.wav", params={"dir": "stereo"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 2, 2)
        assert w.getnframes() > 8000


def test_unknown_call_is_a_404_page(gui: TestClient) -> None:
    gui_login(gui, "viewer")
    r = gui.get("/calls/999999999")
    assert r.status_code == 404 and "Not found" in r.text


def test_ladder_views_and_exports(gui: TestClient, stack: Stack) -> None:
    from tests.stack.webclient import msg_count

    gui_login(gui, "viewer")
    cid = cdr_id(stack.url, G711_CALL)
    n = stack.records[(SENSOR_A, G711_CALL)]["sip_messages"]
    for query in ("", "?split_ports=1", "?legs=1", "?legs=1&split_ports=1"):
        r = gui.get(f"/calls/{cid}{query}")
        assert r.status_code == 200 and msg_count(r.text) == n, query
    assert 'src="/static/ladder.js"' in r.text
    for ext, media in (("svg", "image/svg+xml"), ("txt", "text/plain"), ("html", "text/html")):
        r = gui.get(f"/calls/{cid}/ladder.{ext}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), ext
        assert f'filename="callsift-{cid}-ladder.{ext}"' in r.headers["content-disposition"]
        assert "INVITE" in r.text


def test_cookie_is_secure_over_https(client: TestClient) -> None:
    from gui.app import create_app
    from tests.gui.conftest import ViaTestClient, gui_config

    app = create_app(gui_config(), transport=ViaTestClient(client))
    with TestClient(app, base_url="https://gui.example", follow_redirects=False) as https:
        cookie = https.get("/login").headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_expired_session_goes_back_to_login(gui: TestClient) -> None:
    import time

    from gui.session import COOKIE, Session, SessionCodec
    from tests.gui.conftest import GUI_SECRET

    gui_login(gui, "viewer")
    token = SessionCodec(GUI_SECRET, 3600)
    old = Session(token="whatever", username="viewer", role="viewer", expires_at=time.time() - 5)
    gui.cookies.set(COOKIE, token.dump(old))
    r = gui.get("/calls")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?why=expired")


def test_a_token_the_api_refuses_ends_the_session(gui: TestClient) -> None:
    import time

    from gui.session import COOKIE, Session, SessionCodec
    from tests.gui.conftest import GUI_SECRET

    forged = Session(token="not-a-jwt", username="x", role="admin", expires_at=time.time() + 600)
    gui.cookies.set(COOKIE, SessionCodec(GUI_SECRET, 3600).dump(forged))
    r = gui.get("/calls")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?why=expired")
    assert gui.get("/calls").status_code == 303  # the GUI session is gone too


def test_call_page_charts_jitter_and_loss(gui: TestClient, stack: Stack) -> None:
    gui_login(gui, "viewer")
    page = gui.get(f"/calls/{cdr_id(stack.url, ULAW_CALL)}").text
    assert "Jitter per second" in page and "Packet loss per second" in page
    assert page.count('class="chart chart-') >= 2


def test_logout_ends_the_api_session_too(gui: TestClient, client: TestClient) -> None:
    from gui.session import COOKIE, SessionCodec
    from tests.gui.conftest import GUI_SECRET

    csrf = gui_login(gui, "viewer")
    session = SessionCodec(GUI_SECRET, 3600).load(gui.cookies.get(COOKIE))
    assert session is not None and session.token
    bearer = {"Authorization": f"Bearer {session.token}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert gui.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
