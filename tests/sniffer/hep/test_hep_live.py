"""HEP listeners against real peers, in a network namespace of the test's own: Debian's sngrep
sends a capture as HEP over UDP (it forwards only part of a file's messages: what it sent is
taken from a tshark capture of the HEP packets and compared with ``callsift analyze`` of that
capture); our own encoder sends over TCP with compressed and out-of-order chunks and garbage
between packets."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.migrate import migrate
from db.url import parse_db_url
from sniffer.decode.hep import HepPacket, encode_hep3
from tests.db.mariadb import url_of
from tests.live import Netns, Relay
from tests.live.sensor import ROOT
from tests.sniffer.hep.test_ingest import _hep_of_file
from tests.sniffer.mirror.harness import CALL_PCAP, direct_calls
from tests.sniffer.mirror.live import ReceiverProcess
from tests.sniffer.service.live import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def site(fresh_db: str) -> str:
    url = url_of(fresh_db)
    asyncio.run(migrate(url))
    return url


@pytest.fixture
def receiver(netns: Callable[[], Netns], site: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    ns = netns()
    with Relay(ns, 3306):
        r = ReceiverProcess(
            ns, db_url=site, spool=tmp_path / "spool", secrets=None,
            hep=("udp:127.0.0.1:9060", "tcp:127.0.0.1:9061"),
        )  # fmt: skip
        try:
            r.wait_ready(30)
            yield r
        finally:
            r.kill()


def _events(r: ReceiverProcess) -> dict[str, float]:
    text = r.metrics_text()
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^callsift_events_total\{reason="([^"]+)"\} (\S+)', text, re.M)
    }


def _cdrs(url: str) -> dict[str, tuple[int, str]]:
    async def go() -> dict[str, tuple[int, str]]:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT call_id, sip_messages, state FROM cdr")
                return {str(c): (int(n), str(s)) for c, n, s in await cur.fetchall()}
        finally:
            conn.close()

    return asyncio.run(go())


def test_sngrep_over_udp_every_message_it_sent_is_accounted_for(
    receiver: ReceiverProcess, site: str, tmp_path: Path
) -> None:
    ns = receiver.ns
    cap_file = tmp_path / "hep.pcap"
    cap = ns.popen(["tshark", "-i", "lo", "-w", str(cap_file), "-f", "udp dst port 9060"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(2)
    try:
        sent = ns.run(["sngrep", "-I", str(CALL_PCAP), "-H", "udp:127.0.0.1:9060", "-N", "-q"],
                      capture_output=True, text=True, timeout=60)  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        time.sleep(1)
    finally:
        cap.terminate()
        cap.wait(10)
    frames = subprocess.run(["tshark", "-r", str(cap_file)], capture_output=True, text=True)
    n_sent = len(frames.stdout.splitlines())
    assert n_sent > 0
    wait_for(lambda: _events(receiver).get("hep.sip", 0) >= n_sent, 20, "every HEP packet")
    ev = _events(receiver)
    assert ev["hep.udp_datagrams"] == ev["hep.sip"] == n_sent
    assert "hep.bad_packet" not in ev and "hep.queue_dropped" not in ev
    # what the receiver made of them = what analyze makes of the capture of what was sent
    analysed = subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", str(cap_file)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    calls = {
        d["call_id"]: (d["sip_messages"], d["state"])
        for d in map(json.loads, analysed.splitlines())
        if d["type"] == "call"
    }
    assert calls
    rc, _took, log = receiver.stop()
    assert rc == 0, log[-2000:]
    assert _cdrs(site) == calls
    # every Call-ID of the file's calls arrived
    assert set(calls) == {c.call_id for c in direct_calls(CALL_PCAP)}


def _tcp_stream() -> bytes:
    """The call capture as HEP over TCP: compressed SIP, chunks in another order every other
    packet, an unknown chunk, garbage between packets."""
    out = bytearray(b"\x00garbage before the first packet")
    for i, data in enumerate(_hep_of_file(77, b"tcp-agent", None)):
        pkt = HepPacket.parse(data)
        extra = [(0, 200, b"unknown")] if i % 3 == 0 else []
        order = list(range(12 + len(extra)))[::-1] if i % 2 else None  # 11 chunks, payload
        out += encode_hep3(pkt, compress=pkt.proto_type == 1, order=order, extra=extra)
        if i % 50 == 0:
            out += b"HEP3\xff\xffnot a packet" if i % 100 == 0 else b"\r\n junk \x00"
    return bytes(out)


def test_hep_over_tcp_with_resync(receiver: ReceiverProcess, site: str) -> None:
    stream = _tcp_stream()

    def send() -> None:
        with socket.create_connection(("127.0.0.1", 9061), timeout=10) as s:
            for i in range(0, len(stream), 1000):  # cut anywhere
                s.sendall(stream[i : i + 1000])

    receiver.ns.call(send)
    n = len(_hep_of_file(77, b"tcp-agent", None))
    wait_for(
        lambda: (e := _events(receiver)).get("hep.sip", 0) + e.get("hep.rtp", 0) >= n, 30, "all"
    )
    ev = _events(receiver)
    assert ev["hep.sip"] + ev["hep.rtp"] == n
    assert ev["hep.tcp_skipped_bytes"] > 0
    rc, _took, log = receiver.stop()
    assert rc == 0, log[-2000:]
    want = {c.call_id: (c.sip_messages, c.state) for c in direct_calls(CALL_PCAP)}
    assert _cdrs(site) == want


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_hep_out_is_read_back_by_our_receiver(
    netns: Callable[[], Netns], site: str, tmp_path: Path, proto: str
) -> None:
    """A sensor receiving HEP over TCP copies its SIP with ``--hep-out`` to a second one (the
    collector), with its capture id and auth key; a capture of the UDP stream analysed by
    ``callsift analyze`` gives the same calls. (tshark 4.0 here has no HEP dissector.)"""
    ns = netns()
    with Relay(ns, 3306):
        collector = ReceiverProcess(
            ns, db_url=site, spool=tmp_path / "collector", secrets=None,
            hep=(f"{proto}:127.0.0.1:9060",),
        )  # fmt: skip
        cap_file = tmp_path / "out.pcap"
        cap = ns.popen(["tshark", "-i", "lo", "-w", str(cap_file), "-f", "dst port 9060"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        source = ReceiverProcess(
            ns, db_url=site, spool=tmp_path / "source", secrets=None, hep=("tcp:127.0.0.1:9061",),
            extra_args=("--hep-out", f"{proto}:127.0.0.1:9060"),
            env={"CALLSIFT_HEP_OUT_CAPTURE_ID": "4242", "CALLSIFT_HEP_OUT_AUTH_KEY": "homer-key"},
        )  # fmt: skip
        try:
            collector.wait_ready(30)
            source.wait_ready(30)
            time.sleep(1)
            stream = b"".join(_hep_of_file(77, b"pbx", None))
            ns.call(
                lambda: socket.create_connection(("127.0.0.1", 9061), timeout=10).sendall(stream)
            )
            n_sip = sum(
                1 for d in _hep_of_file(77, b"pbx", None) if HepPacket.parse(d).proto_type == 1
            )
            wait_for(lambda: _events(collector).get("hep.sip", 0) >= n_sip, 30, "the SIP copies")
            assert _events(source)["hep_out.sent"] == n_sip
            time.sleep(1)
        finally:
            cap.terminate()
            cap.wait(10)
            for p in (source, collector):
                rc, _took, log = p.stop()
                assert rc == 0, log[-2000:]
    want = {c.call_id: (c.sip_messages, c.state) for c in direct_calls(CALL_PCAP)}

    async def by_sensor() -> dict[str, dict[str, tuple[int, str]]]:
        conn = await connect(parse_db_url(site))
        try:
            async with conn.cursor() as cur:
                await cur.execute(
                    "SELECT s.identity, c.call_id, c.sip_messages, c.state FROM cdr c "
                    "JOIN sensors s ON s.id = c.sensor_id"
                )
                out: dict[str, dict[str, tuple[int, str]]] = {}
                for ident, cid, n, st in await cur.fetchall():
                    out.setdefault(str(ident), {})[str(cid)] = (int(n), str(st))
                return out
        finally:
            conn.close()

    got = asyncio.run(by_sensor())
    assert got["hep:77:pbx"] == want  # the source sensor
    assert got["hep:4242:pbx"] == want  # what the collector made of its copies
    if proto == "tcp":
        return  # HEP inside captured TCP streams is not decoded from captures (UDP is)
    analysed = subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", str(cap_file)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    calls = {
        d["call_id"]: (d["sip_messages"], d["state"])
        for d in map(json.loads, analysed.splitlines())
        if d["type"] == "call"
    }
    assert calls == want
