"""Sensor identity without manual numbering: interface claims under the shared state
directory, standby, persistent identities, automatic ids from the database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from db.connect import connect
from db.errors import DbError
from db.queries import fetch_sensor
from db.settings import load_settings
from db.url import parse_db_url
from sniffer.cli.sniff import claimed_settings
from sniffer.service import identity
from sniffer.service.identity import InterfaceClaims, claim_key, pool_entries
from sniffer.service.sensorid import resolve_sensor_id
from sniffer.spool.spool import CallPcapSpool, SpoolError
from tests.db.mariadb import db_url

__all__ = ["db_url"]

URL = "mysql://sensor:pw@db:3306/callsift"


def test_pool_entries_and_keys() -> None:
    assert pool_entries(["eth1", "eth2"], pool=False) == [["eth1", "eth2"]]
    assert pool_entries(["eth1", "eth2+eth3", "+"], pool=True) == [["eth1"], ["eth2", "eth3"]]
    assert claim_key(["eth1", "eth2"], pool=False) == "sensor"
    assert claim_key(["eth2", "vlan/7"], pool=True) == "pool-eth2+vlan_7"


def test_one_claim_per_interface_list(tmp_path: Path) -> None:
    first = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    second = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    got = first.try_claim()
    assert got is not None and got.interfaces == ["eth0"] and not got.pooled
    assert second.try_claim() is None
    assert second.holders() == [f"eth0 by pid {os.getpid()} on {os.uname().nodename}"]
    first.release()
    again = second.try_claim()
    assert again is not None and again.directory == got.directory
    second.release()


def test_pool_replicas_take_distinct_entries_and_keep_their_identity(tmp_path: Path) -> None:
    ifaces = ["st-a", "st-b", "st-c+st-d"]
    replicas = [InterfaceClaims(tmp_path, ifaces, pool=True) for _ in range(4)]
    claims = [r.try_claim() for r in replicas]
    assert [c.interfaces if c else None for c in claims] == [
        ["st-a"], ["st-b"], ["st-c", "st-d"], None,
    ]  # fmt: skip
    assert claims[1] is not None
    ident_b = claims[1].identity()
    assert ident_b == claims[1].identity() and len(ident_b) == 32
    assert len({c.identity() for c in claims if c}) == 3
    claims[1].remember_sensor_id(42)
    replicas[1].release()  # replica 1 stops: replica 3 takes its place, as the same sensor
    took = replicas[3].try_claim()
    assert took is not None and took.interfaces == ["st-b"] and took.index == 1
    assert (took.identity(), took.cached_sensor_id()) == (ident_b, 42)
    state = tmp_path / identity.STATE_DIR / "pool-st-b"
    assert oct(state.stat().st_mode & 0o777) == "0o750"
    assert oct((state / identity.IDENTITY_FILE).stat().st_mode & 0o777) == "0o640"
    for r in replicas:
        r.release()


async def test_a_standby_takes_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "STANDBY_POLL_S", 0.05)
    holder = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    assert holder.try_claim() is not None
    standby = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    went_standby = asyncio.Event()
    task = asyncio.create_task(standby.claim(asyncio.Event(), on_standby=went_standby.set))
    await asyncio.wait_for(went_standby.wait(), 5)
    assert not task.done()
    holder.release()
    got = await asyncio.wait_for(task, 5)
    assert got is not None and got.interfaces == ["eth0"]
    standby.release()


async def test_a_standby_stops_when_asked(tmp_path: Path) -> None:
    holder = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    assert holder.try_claim() is not None
    stop = asyncio.Event()
    stop.set()
    assert await InterfaceClaims(tmp_path, ["eth0"], pool=False).claim(stop) is None
    holder.release()


def test_pool_settings_name_and_metrics_port() -> None:
    s = load_settings(None, {"sensor.name": "edge", "metrics.listen": "127.0.0.1:9108"})
    assert claimed_settings(s, ["eth0"], 0, pooled=False) is s
    p = claimed_settings(s, ["eth2", "eth3"], 2, pooled=True)
    assert (p.sensor.name, p.capture.interfaces, p.metrics.listen) == (
        "edge-eth2+eth3", ["eth2", "eth3"], "127.0.0.1:9110",
    )  # fmt: skip
    assert (s.sensor.name, s.metrics.listen) == ("edge", "127.0.0.1:9108")  # not changed
    ephemeral = load_settings(None, {"metrics.listen": "127.0.0.1:0"})
    assert claimed_settings(ephemeral, ["eth2"], 2, pooled=True).metrics.listen == "127.0.0.1:0"


async def test_resolve_claims_once_then_remembers(tmp_path: Path, db_url: str) -> None:
    claims = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    claim = claims.try_claim()
    assert claim is not None
    sid = await resolve_sensor_id(db_url, claim, "edge-auto", asyncio.Event())
    assert sid is not None and claim.cached_sensor_id() == sid
    conn = await connect(parse_db_url(db_url))
    try:
        row = await fetch_sensor(conn, sid)
    finally:
        conn.close()
    assert row is not None and (row["identity"], row["name"]) == (claim.identity(), "edge-auto")
    # a later run asks nothing: the id is remembered (even with the database unreachable)
    assert await resolve_sensor_id("mysql://u@127.0.0.1:1/x", claim, "n", asyncio.Event()) == sid
    claims.release()


async def test_resolve_waits_for_an_unreachable_database(tmp_path: Path) -> None:
    claims = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    claim = claims.try_claim()
    assert claim is not None
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    assert await resolve_sensor_id("mysql://u@127.0.0.1:1/x", claim, "n", stop) is None
    claims.release()


async def test_resolve_fails_on_wrong_credentials(tmp_path: Path, db_url: str) -> None:
    cfg = parse_db_url(db_url)
    bad = f"mysql://cs_nobody:wrong@{cfg.where}/{cfg.database}"
    claims = InterfaceClaims(tmp_path, ["eth0"], pool=False)
    claim = claims.try_claim()
    assert claim is not None
    with pytest.raises(DbError, match="Access denied"):
        await resolve_sensor_id(bad, claim, "n", asyncio.Event())
    claims.release()


def test_sniff_waits_as_a_standby_and_stops_on_sigterm(tmp_path: Path) -> None:
    """A second sensor on the same spool and interface captures nothing: it says so, reports
    ``standby`` in its status file, and ends cleanly on SIGTERM."""
    holder = InterfaceClaims(tmp_path / "spool", ["st-none0"], pool=False)
    assert holder.try_claim() is not None
    health = tmp_path / "run" / "status.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sniffer.cli.main", "sniff", "-i", "st-none0",
         "--db", URL, "--spool", str(tmp_path / "spool"), "--health-file", str(health)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if health.exists() and json.loads(health.read_text())["state"] == "standby":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the second sensor never reported standby")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        holder.release()
    assert proc.returncode == 0, err
    assert "standby: every interface is captured by another sensor sharing" in err
    assert f"st-none0 by pid {os.getpid()}" in err


def test_a_spool_subdir_is_part_of_every_pcap_path(tmp_path: Path) -> None:
    spool = CallPcapSpool(tmp_path, 1, subdir="node-1/pool-eth1")
    handle = spool.open_call("abc@host", 1_700_000_000.0)
    assert handle.relpath.startswith("node-1/pool-eth1/2023-11-14/22/13/abc@host-")
    assert spool.close_call(handle) == handle.relpath
    assert (tmp_path / handle.relpath).is_file()
    spool.close()
    with pytest.raises(SpoolError, match="spool subdirectory must be a relative path"):
        CallPcapSpool(tmp_path, 1, subdir="../x")
