"""Tunnels on a live interface and through the receiver: a capture of calls each carried in
another encapsulation (VLAN, QinQ, MPLS, IP-in-IP, GRE, GRE-TEB, ERSPAN II/III, VXLAN, TZSP) is
replayed onto a veth; ``callsift sniff -i`` captures it directly and ``mirror-send -i``
forwards it to a receiver; both give the CDRs ``callsift analyze`` gives for the file."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from db.connect import connect
from db.migrate import migrate
from db.queries import call_uids, fetch_call
from db.url import parse_db_url
from sniffer.capture.bpf import DEFAULT_BPF
from tests.db.mariadb import url_of
from tests.live import Netns, Relay
from tests.live.sensor import ROOT, SensorProcess
from tests.pcapgen import Call, Party, encapsulate, write_pcap
from tests.sniffer.mirror.live import ReceiverProcess, SenderProcess, secrets_file
from tests.sniffer.service.live import wait_for

pytestmark = pytest.mark.slow

TUNNELS = ("vlan", "qinq", "mpls", "ipip", "gre", "gre-teb", "erspan2", "erspan3", "vxlan",
           "tzsp")  # fmt: skip
T0 = 1_700_000_000.0

Summary = tuple[int | None, str, tuple[int, ...]]


def _capture(path: Path) -> int:
    """One call per encapsulation, each between its own addresses, overlapping in time;
    returns the frames written."""
    frames = []
    for k, how in enumerate(TUNNELS, 1):
        call = Call(
            call_id=f"{how}@tunnels", start=T0 + 0.3 * k, talk_s=3.0,
            caller=Party("alice", f"10.9.{k}.1", rtp_port=40000 + 2 * k),
            callee=Party("bob", f"10.9.{k}.2", rtp_port=50000 + 2 * k),
        ).build()  # fmt: skip
        linktype, fr = encapsulate(call.packets, how)
        assert linktype == 1
        frames += fr
    frames.sort(key=lambda f: f[0])
    write_pcap(path, 1, frames)
    return len(frames)


def _offline(path: Path) -> dict[str, Summary]:
    out = subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", "analyze", "--json", str(path)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    return {
        d["call_id"]: (
            d["final_code"],
            d["state"],
            tuple(sorted(s["packets"] for s in d["streams"])),
        )
        for d in map(json.loads, out.splitlines())
        if d["type"] == "call"
    }


def _db(url: str, sensor: int) -> dict[str, Summary]:
    async def go() -> dict[str, Summary]:
        conn = await connect(parse_db_url(url))
        try:
            out = {}
            for uid in await call_uids(conn, sensor):
                c = await fetch_call(conn, sensor, uid)
                assert c is not None
                out[c.call_id] = (
                    c.final_code,
                    c.state,
                    tuple(sorted(s.packets for s in c.streams)),
                )
            return out
        finally:
            conn.close()

    return asyncio.run(go())


def test_tunnels_live_and_through_the_receiver(
    netns: Callable[[], Netns], fresh_db: str, tmp_path: Path
) -> None:
    url = url_of(fresh_db)
    asyncio.run(migrate(url))
    cap = tmp_path / "tunnels.pcap"
    n = _capture(cap)
    want = _offline(cap)
    assert set(want) == {f"{h}@tunnels" for h in TUNNELS}
    tx, rx = netns(), netns()
    tx_dev, rx_dev = tx.veth(rx)
    procs: list[SensorProcess] = []
    with Relay(rx, 3306):
        try:
            receiver = ReceiverProcess(
                rx, db_url=url, spool=tmp_path / "recv",
                secrets=secrets_file(tmp_path / "secrets", {"edge": "edge-secret-0123456789"}),
            )  # fmt: skip
            procs.append(receiver)
            direct = SensorProcess(rx, iface=rx_dev, bpf=DEFAULT_BPF, db_url=url, sensor_id=900,
                                   spool=tmp_path / "direct")  # fmt: skip
            procs.append(direct)
            receiver.wait_ready(30)
            direct.wait_ready(30)
            sender = SenderProcess(
                rx, name="edge", secret="edge-secret-0123456789", to="127.0.0.1:9070",
                iface=rx_dev, log_path=tmp_path / "edge.log",
            )  # fmt: skip
            procs.append(sender)
            sender.wait_ready(30)
            tx.run(["tcpreplay", f"--intf1={tx_dev}", str(cap)], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
            wait_for(
                lambda: (f := sender.figures())["captured_packets"] >= n
                and f["buffered_packets"] == 0,
                30, "every packet captured and acknowledged",
            )  # fmt: skip
            for p in (sender, direct, receiver):
                rc, _took, log = p.stop()
                assert rc == 0, log[-2000:]
        finally:
            for p in procs:
                p.kill()
    got_direct = _db(url, 900)
    ids = asyncio.run(_mirror_id(url))
    got_mirror = _db(url, ids)
    # live capture ends the calls that were still lingering as `shutdown`: compare the rest
    assert {k: v[0] for k, v in got_direct.items()} == {k: v[0] for k, v in want.items()}
    assert {k: v[2] for k, v in got_direct.items()} == {k: v[2] for k, v in want.items()}
    assert got_mirror == got_direct


async def _mirror_id(url: str) -> int:
    conn = await connect(parse_db_url(url))
    try:
        async with conn.cursor() as cur:
            await cur.execute("SELECT id FROM sensors WHERE identity = 'mirror:edge'")
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])
    finally:
        conn.close()
