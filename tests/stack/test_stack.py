"""The real stack: images built from this checkout, ``compose up -d`` with no .env, traffic
replayed onto the sniffer's interface, CDRs in MariaDB and pcaps on the shared volume, a
SIGTERM that flushes open calls, three pooled sensors on three sources, and ``down``.

Needs root, a Docker engine (started here when none answers; see engine.py), debootstrap,
tcpreplay and iproute2. Slow: cold (nothing cached) several minutes, warm about two.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import images
from tests.stack.engine import SOCKET, docker_engine
from tests.stack.stack import Stack, first_admin, wait_for
from tests.stack.tools import compose_commands, compose_env
from tests.stack.traffic import GOLDEN, call_ids, replay, veth_pairs, without_bye
from tests.stack.webclient import GuiClient, call_links, msg_count, parse

pytestmark = pytest.mark.slow

CAPTURES = [
    GOLDEN / "sip_rtp_g711u_call_register_voipshark.pcap",
    GOLDEN / "sip_register_auth_cancel_aaa.pcap",
    GOLDEN / "sip_tcp_call_rtp_rtcp.pcap",
]
ENGINE_HOST = f"unix://{SOCKET}"
HEALTHY_S = 240.0
CDR_S = 90.0
SERVICES_ALWAYS = ["secrets", "db", "migrate", "maintain", "sniffer"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for the GUI's published port (never a fixed one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def engine() -> Iterator[dict[str, str]]:
    for tool in ("dockerd", "docker", "debootstrap", "tcpreplay", "ip"):
        assert shutil.which(tool), f"{tool} is not installed (.ci/run installs it)"
    assert os.geteuid() == 0, "the stack test needs root (dockerd, veth interfaces)"
    started = time.monotonic()
    with docker_engine() as host:
        env = compose_env({"DOCKER_HOST": host})
        built = images.ensure_base_images(env)
        copied = images.fill_wheelhouse()
        print(f"\nstack: engine {host}, stand-ins built now: {built or 'none'}, "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        try:
            yield env
        finally:
            for wheel in copied:
                wheel.unlink(missing_ok=True)
            if host == ENGINE_HOST:  # our own daemon: drop the images earlier runs replaced
                subprocess.run(["docker", "image", "prune", "--force"], env=env,
                               capture_output=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("flavour", ["v2", "v1"])
def test_stack(engine: dict[str, str], flavour: str, tmp_path: Path) -> None:
    compose = compose_commands().get(flavour)
    assert compose, f"Compose {flavour} is not installed"
    web = ["api", "gui"]
    project = f"csstack{os.getpid()}{flavour}"
    gui_port = free_port()
    env = dict(engine)
    env.update(CALLSIFT_GUI_PORT=str(gui_port), CALLSIFT_METRICS_LISTEN="127.0.0.1:0")
    stack = Stack(compose, project, env)
    t0 = time.monotonic()
    with veth_pairs(3) as pairs:
        try:
            stack.run("build", timeout=1800)
            t_build = time.monotonic() - t0
            one_host_stack(stack, pairs[0], web, gui_port, tmp_path)
            sigterm_flushes_open_calls(stack, pairs[0], tmp_path)
            three_pooled_sensors(stack, pairs)
            stack.run("down", "--timeout", "60")
            assert stack.containers(running_only=False) == [], "containers left after down"
        finally:
            stack.run("down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)
    print(f"\nstack ({flavour}): build {t_build:.0f} s, all {time.monotonic() - t0:.0f} s, "
          f"checked {', '.join(web)}")  # fmt: skip


def one_host_stack(
    stack: Stack, pair: tuple[str, str], web: list[str], gui_port: int, tmp_path: Path
) -> None:
    """``up -d`` with nothing but the sniffer's interface set: every service healthy, the
    calls of a capture in MariaDB under the sensor's automatic id, their pcaps on the
    volume, readable by the API's user."""
    tx, rx = pair
    stack.env["CALLSIFT_INTERFACE"] = rx
    stack.run("up", "-d", *SERVICES_ALWAYS, *web, timeout=900)
    for service in ("db", "maintain", "sniffer", *web):
        wait_for(f"{service} healthy", lambda s=service: stack.health(s) == ["healthy"],
                 HEALTHY_S, stack.describe)  # fmt: skip
    assert stack.health("secrets") == ["exited"] and stack.health("migrate") == ["exited"]
    for one_shot in ("secrets", "migrate"):
        code = stack.inspect(stack.containers(one_shot, running_only=False)[0])
        assert code["State"]["ExitCode"] == 0, stack.logs(one_shot)

    for service in ("sniffer", *web):  # the images build the compiled hot path
        version = stack.run("exec", "-T", service, "callsift", "--version").stdout
        assert "(compiled (mypyc))" in version, f"{service}: {version}"
    sensors = stack.sql("SELECT id, name, identity FROM sensors")
    assert len(sensors) == 1 and sensors[0][2], sensors
    sensor_id = sensors[0][0]
    capture = CAPTURES[0]
    expected = call_ids(capture)
    replay(tx, capture)
    rows = wait_for(
        f"the {len(expected)} calls of {capture.name} in MariaDB",
        lambda: (r := stack.sql(f"SELECT call_id, pcap FROM cdr WHERE sensor_id = {sensor_id}"))
        and {c for c, _p in r} == expected and r,
        CDR_S, stack.describe,
    )  # fmt: skip
    for _call_id, pcap in rows:
        check_pcap_readable_by_api(stack, pcap)
    if "api" in web:
        user, password, sip_counts = check_api(stack, expected, sensor_id)
        if "gui" in web:
            check_gui(gui_port, user, password, sip_counts)


def check_pcap_readable_by_api(stack: Stack, relpath: str) -> None:
    """The pcap is on the spool volume, 0640, and the API's user reads it (read-only)."""
    assert relpath and ".." not in relpath
    out = stack.run(
        "run", "--rm", "--no-deps", "--entrypoint", "python", "api", "-c",
        "import os, sys; p = '/var/spool/callsift/' + sys.argv[1]; st = os.stat(p); "
        "head = open(p, 'rb').read(4); print(oct(st.st_mode & 0o777), head.hex(), os.getuid())",
        relpath,
    ).stdout.split()  # fmt: skip
    assert out[0] == "0o640", out
    assert out[1] in ("d4c3b2a1", "a1b2c3d4", "4d3cb2a1"), f"not a pcap: {out}"
    assert out[2] == "10001", out


def check_api(stack: Stack, expected: set[str], sensor_id: str) -> tuple[str, str, dict[str, int]]:
    """The first administrator (read as the README says) logs in to the API; the calls and
    the sensor come back through it. Returns the credentials and, per API call id, how many
    SIP messages the API's flow lists."""
    user, password = first_admin(stack.logs("migrate"))
    assert len(password) >= 20
    query = (
        "import json, sys, urllib.request as u\n"
        "base = 'http://127.0.0.1:8000/api/v1'\n"
        "req = u.Request(base + '/auth/login', json.dumps({'username': sys.argv[1], "
        "'password': sys.argv[2]}).encode(), {'Content-Type': 'application/json'})\n"
        "tok = json.load(u.urlopen(req, timeout=10))['access_token']\n"
        "h = {'Authorization': 'Bearer ' + tok}\n"
        "get = lambda p: json.load(u.urlopen(u.Request(base + p, headers=h), timeout=10))\n"
        "calls = get('/calls?limit=100')['items']\n"
        "sip = {c['id']: len(get(f\"/calls/{c['id']}/sip\")['items']) for c in calls}\n"
        "print(json.dumps([calls, get('/sensors')['items'], sip]))\n"
    )
    calls, sensors, sip = json.loads(stack.exec_py("api", query, user, password))
    assert {c["call_id"] for c in calls} == expected, calls
    assert str(sensor_id) in {str(s["id"]) for s in sensors}, sensors
    # the password is printed once: a second migrate run prints no other
    stack.run("up", "-d", "migrate")
    wait_for("migrate to finish again", lambda: stack.health("migrate") == ["exited"], 120)
    logs = stack.logs("migrate")
    assert first_admin(logs) == (user, password) and logs.count("password:") == 1, logs
    assert all(n > 0 for n in sip.values()), sip
    return user, password, {str(k): int(n) for k, n in sip.items()}


def check_gui(gui_port: int, user: str, password: str, sip_counts: dict[str, int]) -> None:
    """On its published port (127.0.0.1) the GUI logs the first administrator in through its
    form (CSRF field included), lists the calls, and each call's page draws one ladder ``msg``
    per SIP message the API lists and links a pcap that downloads."""
    gui = GuiClient(f"http://127.0.0.1:{gui_port}")
    calls_page = gui.login(user, password)
    links = sorted(set(call_links(calls_page)))
    assert {link.rsplit("/", 1)[1] for link in links} == set(sip_counts), (links, sip_counts)
    for link in links:
        _url, body = gui.get(link)
        page = body.decode()
        assert msg_count(page) == sip_counts[link.rsplit("/", 1)[1]], (link, page[:800])
        pcaps = [h for h in parse(page).links if "pcap" in h and "sip" not in h]
        assert pcaps, f"no pcap link on {link}"
        _url, pcap = gui.get(pcaps[0])
        assert pcap[:4].hex() in ("d4c3b2a1", "a1b2c3d4", "4d3cb2a1"), (pcaps[0], pcap[:64])


def sigterm_flushes_open_calls(stack: Stack, pair: tuple[str, str], tmp_path: Path) -> None:
    """Calls still open when the sniffer's container is stopped become CDRs (``shutdown``)."""
    tx, _rx = pair
    capture = without_bye(CAPTURES[0], tmp_path / "no-bye.pcap")
    expected = call_ids(capture, ended=False)
    assert expected and not call_ids(capture)
    container = stack.containers("sniffer")[0]
    status = json.loads(stack.run("exec", "-T", "sniffer", "cat", "/run/callsift/sensor.json")
                        .stdout)  # fmt: skip
    metrics_url = f"http://{status['metrics']}/metrics"
    replay(tx, capture)

    def active_calls() -> float | None:
        with urllib.request.urlopen(metrics_url, timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("callsift_active_calls "):
                    n = float(line.split()[1])
                    return n if n >= len(expected) else None
        return None

    wait_for("the open calls in the sensor", active_calls, 60, stack.describe)
    stack.run("stop", "--timeout", "60", "sniffer")
    assert stack.inspect(container)["State"]["ExitCode"] == 0, stack.logs("sniffer")
    sid = status["sensor_id"]
    rows = stack.sql(f"SELECT call_id FROM cdr WHERE sensor_id = {sid} AND state = 'shutdown'")
    assert {r[0] for r in rows} == expected, (rows, stack.logs("sniffer"))


def three_pooled_sensors(stack: Stack, pairs: list[tuple[str, str]]) -> None:
    """``--scale sniffer=3`` on a pool of three interfaces: three sensors, three distinct
    automatic ids and names, each with exactly the calls of its own traffic source."""
    stack.env["CALLSIFT_INTERFACE"] = ",".join(rx for _tx, rx in pairs)
    stack.env["CALLSIFT_INTERFACE_POOL"] = "true"
    before = {r[0] for r in stack.sql("SELECT id FROM sensors")}
    stack.run("up", "-d", "--scale", "sniffer=3", "sniffer", timeout=600)
    wait_for("3 healthy sniffers", lambda: stack.health("sniffer") == ["healthy"] * 3,
             HEALTHY_S, stack.describe)  # fmt: skip
    host = stack.docker("info", "--format", "{{.Name}}").strip()
    for (tx, _rx), capture in zip(pairs, CAPTURES, strict=True):
        replay(tx, capture)
    for (_tx, rx), capture in zip(pairs, CAPTURES, strict=True):
        expected = call_ids(capture)
        name = f"{host}-{rx}"
        rows = wait_for(
            f"sensor {name} with the calls of {capture.name}",
            lambda n=name, e=expected: (
                r := stack.sql(
                    "SELECT s.id, c.call_id FROM sensors s JOIN cdr c ON c.sensor_id = s.id "
                    f"WHERE s.name = '{n}'"
                )
            ) and {c for _s, c in r} == e and r,
            CDR_S, stack.describe,
        )  # fmt: skip
        assert len({s for s, _c in rows}) == 1
    pooled = stack.sql("SELECT id, name FROM sensors")
    new = {i: n for i, n in pooled if i not in before}
    assert len(new) == 3 and len(set(new.values())) == 3, pooled
    # the id is stable: a restarted replica is the same sensor
    stack.run("restart", "--timeout", "60", "sniffer")
    wait_for(
        "3 healthy sniffers after a restart",
        lambda: stack.health("sniffer") == ["healthy"] * 3,
        HEALTHY_S,
        stack.describe,
    )
    assert {i for i, _n in stack.sql("SELECT id, name FROM sensors")} == before | set(new)
