"""Packet mirroring between namespaces as hosts: three sender namespaces make real sipp calls
(with RTP) and run ``callsift mirror-send -i lo``; one receiver namespace analyses them into
MariaDB. Each sender is a sensor of its own whose CDRs are exactly its calls; a receiver restart
and a failover to another receiver lose no packet and repeat none, and a call the failover
splits has a CDR flagged ``mirror_split`` on both receivers."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.migrate import migrate
from db.queries import call_uids, duplicate_call_uids, fetch_call
from db.records import CallRecord
from db.url import parse_db_url
from sniffer.mirror.remote import SPLIT_FLAG as SPLIT
from tests.db.mariadb import url_of
from tests.live import Netns, Relay
from tests.live.sensor import ROOT, SensorProcess
from tests.sniffer.mirror.fuzzpeer import fuzz
from tests.sniffer.mirror.harness import CALL_PCAP, packets_of
from tests.sniffer.mirror.live import (
    ReceiverProcess,
    SenderProcess,
    final_captured,
    listener,
    record_one,
    replay,
    secrets_file,
)
from tests.sniffer.service.live import BPF, G711A_PACKETS, Uas, place_calls, wait_for

pytestmark = pytest.mark.slow

NAMES = ("pbx1", "pbx2", "pbx3")
SECRETS = {n: f"{n}-live-secret-0123456789" for n in NAMES}
N_CALLS = 2


@pytest.fixture
def procs() -> Iterator[list[SensorProcess]]:
    started: list[SensorProcess] = []
    yield started
    for p in started:
        p.kill()


@pytest.fixture
def site(fresh_db: str) -> str:
    url = url_of(fresh_db)
    asyncio.run(migrate(url))
    return url


def _sensor_ids(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute("SELECT identity, id FROM sensors WHERE identity LIKE 'mirror:%'")
                return {str(i).removeprefix("mirror:"): int(n) for i, n in await cur.fetchall()}
        finally:
            conn.close()

    return asyncio.run(go())


def _calls(url: str, sensor: int) -> tuple[list[CallRecord], int]:
    async def go() -> tuple[list[CallRecord], int]:
        conn = await connect(parse_db_url(url))
        try:
            out = []
            for uid in await call_uids(conn, sensor):
                rec = await fetch_call(conn, sensor, uid)
                assert rec is not None
                out.append(rec)
            return out, await duplicate_call_uids(conn, sensor)
        finally:
            conn.close()

    return asyncio.run(go())


def _completed(url: str, sensor: int) -> list[CallRecord]:
    return [c for c in _calls(url, sensor)[0] if c.state == "completed"]


def _check_call(c: CallRecord) -> None:
    assert (c.final_code, c.state) == (200, "completed"), c
    assert len(c.streams) == 2, c.streams
    for s in c.streams:
        assert (s.codec, s.packets, s.lost) == ("PCMA", G711A_PACKETS, 0), s


def _in_parallel(jobs: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _hosts(netns: Callable[[], Netns]) -> tuple[Netns, list[Netns], list[str]]:
    """The receiver's namespace and the senders', each joined by a veth: sender i reaches the
    receiver at 10.77.i.2."""
    recv = netns()
    senders, addrs = [], []
    for i in range(1, len(NAMES) + 1):
        ns = netns()
        a, b = ns.veth(recv)
        ns.ip("addr", "add", f"10.77.{i}.1/24", "dev", a)
        recv.ip("addr", "add", f"10.77.{i}.2/24", "dev", b)
        senders.append(ns)
        addrs.append(f"10.77.{i}.2")
    return recv, senders, addrs


def test_three_senders_restart_and_failover(
    netns: Callable[[], Netns], procs: list[SensorProcess], site: str, tmp_path: Path
) -> None:
    recv_ns, sender_ns, addrs = _hosts(netns)
    secrets = secrets_file(tmp_path / "secrets", SECRETS)
    with Relay(recv_ns, 3306):
        main = ReceiverProcess(recv_ns, db_url=site, spool=tmp_path / "r1", secrets=secrets)
        procs.append(main)
        main.wait_ready(30)
        uases = [Uas(ns) for ns in sender_ns]
        senders = []
        for name, ns, addr in zip(NAMES, sender_ns, addrs, strict=True):
            s = SenderProcess(
                ns, name=name, secret=SECRETS[name], to=f"{addr}:9070,{addr}:9071",
                bpf=BPF, log_path=tmp_path / f"{name}.log",
            )  # fmt: skip
            procs.append(s)
            senders.append(s)
        for s in senders:
            s.wait_ready(30)
        try:
            # round 1: every namespace calls; each sender is a sensor with exactly its calls
            _in_parallel([lambda ns=ns: place_calls(ns, N_CALLS) for ns in sender_ns])
            wait_for(lambda: len(_sensor_ids(site)) == 3, 30, "three mirror sensors")
            ids = _sensor_ids(site)
            for name in NAMES:
                wait_for(lambda n=name: len(_completed(site, ids[n])) >= N_CALLS, 40, "CDRs")
            round1 = {n: {c.uid for c in _completed(site, ids[n])} for n in NAMES}
            for name in NAMES:
                for c in _completed(site, ids[name]):
                    _check_call(c)

            # round 2 across a restart of the receiver: the senders buffer meanwhile
            def restart() -> None:
                rc, _took, log = main.stop()
                assert rc == 0, log[-2000:]

            _in_parallel(
                [lambda ns=ns: place_calls(ns, N_CALLS, 5091, 7100) for ns in sender_ns] + [restart]
            )
            main2 = ReceiverProcess(
                recv_ns, db_url=site, spool=tmp_path / "r1", secrets=secrets,
                log_path=tmp_path / "receiver-9070-b.log",
            )  # fmt: skip
            procs.append(main2)
            main2.wait_ready(30)
            wait_for(
                lambda: all(s.figures()["buffered_packets"] == 0 for s in senders), 60, "drain"
            )

            # failover: a second receiver, the first one stops for good
            spare = ReceiverProcess(
                recv_ns, db_url=site, spool=tmp_path / "r2", secrets=secrets, port=9071
            )
            procs.append(spare)
            spare.wait_ready(30)

            def failover() -> None:
                time.sleep(3.0)  # pbx1's call is answered, its RTP flowing
                rc, _took, log = main2.stop()
                assert rc == 0, log[-2000:]

            # a call of pbx1 in progress during the failover: split between the receivers
            _in_parallel([lambda: place_calls(sender_ns[0], 1, 5071, 7200), failover])
            _in_parallel([lambda ns=ns: place_calls(ns, N_CALLS, 5081, 7000) for ns in sender_ns])
            for name in NAMES:
                more = N_CALLS + (name == NAMES[0])  # the split call's BYE side: completed
                wait_for(
                    lambda n=name, m=more: len(_completed(site, ids[n])) >= len(round1[n]) + m,
                    60, "CDRs through the failover receiver",
                )  # fmt: skip
            captured = {}
            for name, s in zip(NAMES, senders, strict=True):
                wait_for(lambda s=s: s.figures()["buffered_packets"] == 0, 30, "drain")
                rc, _took, log = s.stop()
                assert rc == 0, log[-2000:]
                assert re.search(r"dropped 0 \(buffer full\)", log), log[-1000:]
                captured[name] = final_captured(log)
            rc, _took, log = spare.stop()
            assert rc == 0, log[-2000:]
        finally:
            for u in uases:
                u.close()
    for name in NAMES:
        # no packet lost, none analysed twice: the two receivers' shares add up exactly
        analysed = main2.state(name)["packets"] + spare.state(name)["packets"]
        assert analysed == captured[name], (name, analysed, captured[name])
        assert spare.state(name)["packets"] > 0
        calls, dups = _calls(site, ids[name])
        assert dups == 0
        done = {c.uid for c in calls if c.state == "completed"}
        assert round1[name] <= done  # ended before the restart: there, once
        assert len(done) >= 2 * N_CALLS
        for c in calls:
            if c.state == "completed" and SPLIT not in c.flags:
                _check_call(c)
        _check_split(calls, 1 if name == NAMES[0] else 0)


def _check_split(calls: list[CallRecord], n: int) -> None:
    """``n`` calls split by the failover: a CDR on each receiver, both flagged, the first
    with the INVITE side (``shutdown`` when that receiver stopped), the second with the BYE
    side; together their RTP is every packet sent, once."""
    took = [c for c in calls if c.state == "completed" and SPLIT in c.flags]
    assert len(took) == n, took
    for end in took:
        assert "no_invite_seen" in end.flags and end.bye_code == 200, end
        had = [c for c in calls if c.call_id == end.call_id and c is not end]
        assert len(had) == 1 and SPLIT in had[0].flags, had
        start = had[0]
        assert (start.state, start.final_code) == ("shutdown", 200), start
        assert start.invite_ts < end.invite_ts
        assert len(end.streams) == 2, end.streams
        packets: dict[tuple[int, int], int] = {}
        for st in start.streams + end.streams:
            key = (st.src_port, st.ssrc)
            packets[key] = packets.get(key, 0) + st.packets
        assert list(packets.values()) == [G711A_PACKETS] * 2, (start.streams, end.streams)


def test_refused_secrets_replays_and_fuzz_leave_a_good_sender_alone(
    netns: Callable[[], Netns], procs: list[SensorProcess], site: str, tmp_path: Path
) -> None:
    recv_ns = netns()
    ns = netns()
    a, b = ns.veth(recv_ns)
    ns.ip("addr", "add", "10.77.1.1/24", "dev", a)
    recv_ns.ip("addr", "add", "10.77.1.2/24", "dev", b)
    target = ("10.77.1.2", 9070)
    secrets = secrets_file(tmp_path / "secrets", {**SECRETS, "fuzzer": "fuzzer-secret-0123456789"})
    with Relay(recv_ns, 3306):
        receiver = ReceiverProcess(
            recv_ns, db_url=site, spool=tmp_path / "r", secrets=secrets,
            env={"CALLSIFT_MIRROR_READ_TIMEOUT_S": "2"},
        )  # fmt: skip
        procs.append(receiver)
        receiver.wait_ready(30)
        uas = Uas(ns)
        good = SenderProcess(
            ns, name="pbx1", secret=SECRETS["pbx1"], to="10.77.1.2:9070", bpf=BPF,
            log_path=tmp_path / "pbx1.log",
        )  # fmt: skip
        procs.append(good)
        good.wait_ready(30)
        try:
            _in_parallel(
                [
                    lambda: place_calls(ns, N_CALLS),
                    lambda: ns.call(fuzz, target, "fuzzer", b"fuzzer-secret-0123456789", 70, 7,
                                    timeout=300),
                ]
            )  # fmt: skip
            # a wrong secret: one line, non-zero
            wrong = ns.run(
                [sys.executable, "-m", "sniffer.cli.main", "mirror-send", "-r", str(CALL_PCAP),
                 "--to", "10.77.1.2:9070", "--sensor", "pbx2", "--metrics-listen", "127.0.0.1:0"],
                env={**os.environ, "CALLSIFT_MIRROR_SECRET": "not-pbx2-secret-000000"},
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
            assert wrong.returncode == 1
            assert wrong.stderr.splitlines()[-1] == (
                "callsift: mirror receiver 10.77.1.2:9070 refused sensor 'pbx2': "
                "authentication failed"
            )
            # a real session captured on the way, then replayed as is
            lsock = ns.call(listener)
            port = lsock.getsockname()[1]
            recorded: list[bytes] = []
            rec = threading.Thread(
                target=lambda: recorded.append(ns.call(record_one, lsock, target, timeout=120))
            )
            rec.start()
            sent = ns.run(
                [sys.executable, "-m", "sniffer.cli.main", "mirror-send", "-r", str(CALL_PCAP),
                 "--to", f"127.0.0.1:{port}", "--sensor", "pbx2", "--metrics-listen", "127.0.0.1:0"],
                env={**os.environ, "CALLSIFT_MIRROR_SECRET": SECRETS["pbx2"]},
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
            rec.join(60)
            assert sent.returncode == 0, sent.stderr[-2000:]
            assert recorded and recorded[0].startswith(b"CM\x01\x01")
            answer = ns.call(replay, recorded[0], target)
            assert b"replayed handshake" in answer
            ids = _sensor_ids(site)
            wait_for(lambda: len(_completed(site, ids["pbx1"])) >= N_CALLS, 40, "the good CDRs")
            wait_for(lambda: good.figures()["buffered_packets"] == 0, 30, "drain")
            sender_metrics = good.metrics_text()
            for name in ("sent_packets", "sent_bytes", "compressed_bytes", "dropped_packets"):
                assert f"callsift_mirror_{name}_total" in sender_metrics
            rc, _took, log = good.stop()
            assert rc == 0, log[-2000:]
            captured = final_captured(log)
            metrics = receiver.metrics_text()
        finally:
            uas.close()
        rc, _took, log = receiver.stop()
        assert rc == 0, log[-3000:]
    assert receiver.state("pbx1")["packets"] == captured
    assert receiver.state("pbx2")["packets"] == len(packets_of(CALL_PCAP)[1])  # not twice
    calls, dups = _calls(site, ids["pbx1"])
    assert dups == 0 and len(calls) == N_CALLS
    for c in calls:
        _check_call(c)
    refused = {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^callsift_mirror_refused_total\{reason="([a-z_.]+)"\} (\S+)', metrics, re.M
        )
    }
    assert refused.get("auth_failed", 0) >= 1 and refused.get("replayed", 0) >= 1, refused
    assert refused.get("bad_handshake", 0) >= 10 and refused.get("bad_frames", 0) >= 10, refused
    assert refused.get("read_timeouts", 0) + refused.get("handshake_timeouts", 0) >= 1, refused
