"""Optional TLS on the mirror stream: the sender checks the receiver's certificate (a receiver
whose certificate its CA did not sign is refused in one line) and the stream works over it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from db.migrate import migrate
from tests.db.mariadb import url_of
from tests.db.test_tls import make_pki
from tests.live import Netns, Relay
from tests.live.sensor import ROOT
from tests.sniffer.mirror.harness import CALL_PCAP, packets_of
from tests.sniffer.mirror.live import ReceiverProcess, secrets_file

pytestmark = pytest.mark.slow
SECRET = "tls-sender-secret-0123456789"


def test_mirror_over_tls(netns: Callable[[], Netns], fresh_db: str, tmp_path: Path) -> None:
    url = url_of(fresh_db)
    asyncio.run(migrate(url))
    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki)
    make_pki(pki, "other-ca")
    ns = netns()
    with Relay(ns, 3306):
        receiver = ReceiverProcess(
            ns, db_url=url, spool=tmp_path / "spool",
            secrets=secrets_file(tmp_path / "secrets", {"tls1": SECRET}),
            env={"CALLSIFT_MIRROR_TLS": "1", "CALLSIFT_MIRROR_TLS_CERT": str(pki / "server.pem"),
                 "CALLSIFT_MIRROR_TLS_KEY": str(pki / "server.key")},
        )  # fmt: skip
        try:
            receiver.wait_ready(30)

            def send(ca: str) -> subprocess.CompletedProcess[str]:
                return ns.run(
                    [sys.executable, "-m", "sniffer.cli.main", "mirror-send", "-r", str(CALL_PCAP),
                     "--to", "127.0.0.1:9070", "--sensor", "tls1", "--tls", "--tls-ca",
                     str(pki / ca), "--metrics-listen", "127.0.0.1:0"],
                    env={**os.environ, "CALLSIFT_MIRROR_SECRET": SECRET},
                    capture_output=True, text=True, timeout=60, cwd=ROOT,
                )  # fmt: skip

            wrong = send("other-ca.pem")
            assert wrong.returncode == 1
            assert wrong.stderr.splitlines()[-1].startswith(
                "callsift: mirror receiver 127.0.0.1:9070: its TLS certificate is not trusted ("
            ), wrong.stderr
            good = send("ca.pem")
            assert good.returncode == 0, good.stderr[-2000:]
            rc, _took, log = receiver.stop()
            assert rc == 0, log[-2000:]
        finally:
            receiver.kill()
    assert receiver.state("tls1")["packets"] == len(packets_of(CALL_PCAP)[1])
