"""One ``callsift sniff`` process with capture (``-i``), a mirror receiver and a HEP listener:
three inputs, each its own sensor, each with exactly its calls."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from db.connect import connect
from db.migrate import migrate
from db.url import parse_db_url
from sniffer.decode.hep import HepPacket
from tests.db.mariadb import url_of
from tests.live import Netns, Relay
from tests.live.sensor import ROOT, SensorProcess, free_port, http_get
from tests.sniffer.hep.test_ingest import _hep_of_file
from tests.sniffer.mirror.harness import CALL_PCAP, direct_calls
from tests.sniffer.mirror.live import secrets_file
from tests.sniffer.service.live import BPF, Uas, place_calls, wait_for

pytestmark = pytest.mark.slow
SECRET = "combined-secret-0123456789"


def _by_sensor(url: str) -> dict[str, set[str]]:
    async def go() -> dict[str, set[str]]:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute(
                    "SELECT COALESCE(s.identity, CAST(s.id AS CHAR)), c.call_id FROM cdr c "
                    "JOIN sensors s ON s.id = c.sensor_id WHERE c.state = 'completed'"
                )
                out: dict[str, set[str]] = {}
                for ident, cid in await cur.fetchall():
                    out.setdefault(str(ident), set()).add(str(cid))
                return out
        finally:
            conn.close()

    return asyncio.run(go())


def _sip_seen(url: str, identity: str) -> int:
    """SIP messages the sensor's last heartbeat counted."""

    async def go() -> int:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT counters FROM sensors WHERE identity = %s", (identity,))
                row = await cur.fetchone()
        finally:
            conn.close()
        if row is None or row[0] is None:
            return 0
        c = json.loads(row[0])
        return int(c.get("sip.requests", 0)) + int(c.get("sip.responses", 0))

    return asyncio.run(go())


def test_capture_mirror_and_hep_in_one_process(
    netns: Callable[[], Netns], fresh_db: str, tmp_path: Path
) -> None:
    url = url_of(fresh_db)
    asyncio.run(migrate(url))
    ns = netns()
    secrets = secrets_file(tmp_path / "secrets", {"pbx1": SECRET})
    rport = ns.call(free_port)
    with Relay(ns, 3306):
        sensor = SensorProcess(
            ns, iface="lo", bpf=BPF, db_url=url, sensor_id=700, spool=tmp_path / "spool",
            extra_args=("--mirror-listen", "127.0.0.1:9070", "--mirror-secrets", str(secrets),
                        "--hep-listen", "udp:127.0.0.1:9060"),
            env={"CALLSIFT_HEARTBEAT_S": "1",
                 "CALLSIFT_MIRROR_METRICS_LISTEN": f"127.0.0.1:{rport}"},
        )  # fmt: skip
        uas = Uas(ns)
        try:
            sensor.wait_ready(30)
            place_calls(ns, 1)
            sent = ns.run(
                [sys.executable, "-m", "sniffer.cli.main", "mirror-send", "-r", str(CALL_PCAP),
                 "--to", "127.0.0.1:9070", "--sensor", "pbx1", "--metrics-listen", "127.0.0.1:0"],
                env={**os.environ, "CALLSIFT_MIRROR_SECRET": SECRET},
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
            assert sent.returncode == 0, sent.stderr[-2000:]

            def hep() -> None:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    for data in _hep_of_file(77, b"kam", None):
                        s.sendto(data, ("127.0.0.1", 9060))

            ns.call(hep)
            want = {c.call_id for c in direct_calls(CALL_PCAP) if c.state == "completed"}
            wait_for(lambda: _by_sensor(url).get("mirror:pbx1") == want, 30, "the mirror CDRs")
            n_sip = sum(
                1 for d in _hep_of_file(77, b"kam", None) if HepPacket.parse(d).proto_type == 1
            )
            wait_for(lambda: _sip_seen(url, "hep:77:kam") >= n_sip, 30, "every HEP SIP message")
            # the receivers' own /metrics beside the capture sensor's
            _status, text = ns.call(http_get, f"http://127.0.0.1:{rport}/metrics")
            assert "callsift_mirror_connections_total 1.0" in text
            assert f'callsift_events_total{{reason="hep.sip"}} {float(n_sip)}' in text
        finally:
            uas.close()
            rc, _took, log = sensor.stop()
        assert rc == 0, log[-3000:]
    got = _by_sensor(url)
    assert got["mirror:pbx1"] == want
    assert got["hep:77:kam"] == want
    assert len(got["700"]) == 1  # the sipp call on lo, captured
