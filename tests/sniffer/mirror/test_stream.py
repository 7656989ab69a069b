"""Sender and receiver end to end in one process (socket pairs): per-sender sensors with their
own calls and CDRs, refused secrets and replays, garbage beside a good sender, resume, a call
split by a failover."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from db.connect import connect
from db.queries import call_uids, fetch_call
from db.records import CallRecord
from db.url import parse_db_url
from sniffer.mirror.client import MirrorRefused
from sniffer.mirror.server import MirrorReceiver
from tests.db.mariadb import next_sensor_id
from tests.sniffer.mirror.harness import (
    CALL_PCAP,
    SPLIT_AT,
    direct_calls,
    load_file,
    make_receiver,
    preset_sensor_ids,
    receiver_settings,
    running,
    sender,
)


async def _cdrs(db_url: str, sensor_id: int) -> list[tuple[str, str, int | None]]:
    conn = await connect(parse_db_url(db_url))
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT call_id, state, final_code FROM cdr WHERE sensor_id = %s ORDER BY call_id",
                (sensor_id,),
            )
            return [(str(a), str(b), c) for a, b, c in await cur.fetchall()]
    finally:
        conn.close()


def _receiver(tmp_path: Path, db_url: str, **kw: object) -> tuple[MirrorReceiver, dict[str, int]]:
    ids = {"pbx1": next_sensor_id(), "pbx2": next_sensor_id()}
    preset_sensor_ids(tmp_path / "spool", ids)
    settings = receiver_settings(tmp_path, db_url, **kw)
    return make_receiver(settings, tmp_path / "journal"), ids


async def _send_file(receiver: MirrorReceiver, name: str) -> int:
    client, buf, _ = sender(receiver, name)
    n = load_file(client, buf, CALL_PCAP)
    client.finish()
    await asyncio.wait_for(client.run(asyncio.Event()), 30)
    assert buf.empty
    return n


async def test_two_senders_are_two_sensors_whose_calls_never_merge(
    tmp_path: Path, db_url: str
) -> None:
    receiver, ids = _receiver(tmp_path, db_url)
    expected = [(c.call_id, c.state, c.final_code) for c in direct_calls(CALL_PCAP)]
    assert expected
    async with running(receiver):
        n1, n2 = await asyncio.gather(_send_file(receiver, "pbx1"), _send_file(receiver, "pbx2"))
        s1, s2 = receiver.sensors["pbx1"], receiver.sensors["pbx2"]
        assert s1.packets == n1 and s2.packets == n2  # equal Call-IDs, two sensors
        assert s1.mirror["duplicate_frames"] == s1.mirror["gap_frames"] == 0
    for name in ("pbx1", "pbx2"):  # the receiver stopped: CDRs written
        assert await _cdrs(db_url, ids[name]) == expected
        assert (tmp_path / "spool" / "mirror" / name).is_dir()


async def test_wrong_secret_and_unknown_sensor_are_refused(tmp_path: Path, db_url: str) -> None:
    receiver, _ = _receiver(tmp_path, db_url)
    async with running(receiver):
        for name, secret in (("pbx1", "not-the-secret-000000"), ("pbx9", "whatever-secret-0000")):
            client, _buf, _ = sender(receiver, name, secret)
            with pytest.raises(MirrorRefused) as err:
                await asyncio.wait_for(client.run(asyncio.Event()), 10)
            assert str(err.value) == (
                f"mirror receiver pair:0 refused sensor '{name}': authentication failed"
            )
        assert receiver.counters["refused.auth_failed"] == 1
        assert receiver.counters["refused.unknown_sensor"] == 1
        assert receiver.sensors == {}


async def test_a_replayed_handshake_is_refused(tmp_path: Path, db_url: str) -> None:
    receiver, _ = _receiver(tmp_path, db_url)
    async with running(receiver):
        client, buf, wire = sender(receiver, "pbx1")
        load_file(client, buf, CALL_PCAP)
        client.finish()
        await asyncio.wait_for(client.run(asyncio.Event()), 30)
        packets = receiver.sensors["pbx1"].packets
        for fresh_nonces in (False, True):
            if fresh_nonces:  # a receiver that forgot the nonce still wants a fresh proof
                receiver.nonces = type(receiver.nonces)()
            a, b = socket.socketpair()
            receiver.accept(*await asyncio.open_connection(sock=a))
            r, w = await asyncio.open_connection(sock=b)
            w.write(b"".join(wire))  # the whole captured session, handshake and frames
            await w.drain()
            answer = await asyncio.wait_for(r.read(), 10)
            w.close()
            assert b"authentication failed" in answer or b"replayed handshake" in answer
        assert receiver.counters["refused.replayed"] == 1
        assert receiver.counters["refused.auth_failed"] == 1
        assert receiver.sensors["pbx1"].packets == packets


async def test_garbage_connections_do_not_disturb_a_sender(tmp_path: Path, db_url: str) -> None:
    receiver, _ = _receiver(tmp_path, db_url, read_timeout_s=1.0)

    async def garbage(data: bytes) -> None:
        a, b = socket.socketpair()
        receiver.accept(*await asyncio.open_connection(sock=a))
        _r, w = await asyncio.open_connection(sock=b)
        w.write(data)
        await w.drain()
        await asyncio.sleep(0.2)
        w.close()

    async with running(receiver):
        junk = [os.urandom(n) for n in (1, 17, 18, 500, 5000)]
        junk.append(b"CM\x01\x01" + bytes(14))  # a valid empty HELLO header: bad JSON
        junk.append(b"CM\x01\x10\x00\x00\xff\xff\xff\xff")  # oversized DATA header, truncated
        results = await asyncio.gather(_send_file(receiver, "pbx1"), *(garbage(j) for j in junk))
        assert receiver.sensors["pbx1"].packets == results[0]
        async with asyncio.timeout(10):
            while receiver.connections:
                await asyncio.sleep(0.01)
        bad = sum(n for k, n in receiver.counters.items() if k != "connections")
        assert bad >= len(junk)


@pytest.mark.slow  # about 5 s of reconnect back-off: the full run's, not the fast loop's
async def test_resume_after_a_lost_connection_neither_loses_nor_repeats(
    tmp_path: Path, db_url: str
) -> None:
    receiver, _ = _receiver(tmp_path, db_url)
    async with running(receiver):
        client, buf, _ = sender(receiver, "pbx1")
        total = load_file(client, buf, CALL_PCAP, batch=64)
        stop = asyncio.Event()
        task = asyncio.create_task(client.run(stop))
        while receiver.sensors.get("pbx1") is None or receiver.sensors["pbx1"].last_seq < 20:
            await asyncio.sleep(0.001)
        for conn in list(receiver.connections):  # the receiver side drops the connection
            conn.writer.transport.abort()
        client.finish()
        await asyncio.wait_for(task, 60)
        s = receiver.sensors["pbx1"]
        assert s.packets == total
        assert s.mirror["sessions"] >= 2
        assert s.mirror["duplicate_frames"] >= 0 and s.mirror["gap_frames"] == 0


async def _split_cdrs(db_url: str, sensor_id: int) -> list[CallRecord]:
    conn = await connect(parse_db_url(db_url))
    try:
        out = [await fetch_call(conn, sensor_id, uid) for uid in await call_uids(conn, sensor_id)]
        return [c for c in out if c is not None]
    finally:
        conn.close()


async def test_a_call_split_by_a_failover_has_a_cdr_on_both_receivers(
    tmp_path: Path, db_url: str
) -> None:
    """The sender streams a call's start to one receiver, which stops (the call still open);
    the sender fails over to another receiver with the rest (RTP, the BYEs): both write a
    CDR of their part of each leg, flagged ``mirror_split``."""
    first, ids = _receiver(tmp_path / "a", db_url)
    preset_sensor_ids(tmp_path / "b" / "spool", ids)
    second = make_receiver(receiver_settings(tmp_path / "b", db_url), tmp_path / "b" / "journal")
    targets = [first]
    client, buf, _ = sender(targets, "pbx1")
    stop = asyncio.Event()
    async with running(first):
        task = asyncio.create_task(client.run(stop))
        n = load_file(client, buf, CALL_PCAP, batch=64, part=slice(None, SPLIT_AT))
        async with asyncio.timeout(30):
            while not buf.empty or first.sensors.get("pbx1") is None:
                await asyncio.sleep(0.01)
        assert first.sensors["pbx1"].packets == n
    targets.append(second)  # the first receiver is gone for good
    async with running(second):
        n += load_file(client, buf, CALL_PCAP, batch=64, part=slice(SPLIT_AT, None))
        client.finish()
        await asyncio.wait_for(task, 60)
        s = second.sensors["pbx1"]
        assert (first.sensors["pbx1"].packets + s.packets, s.counters["calls.adopted"]) == (
            n, 2
        )  # fmt: skip
    cdrs = await _split_cdrs(db_url, ids["pbx1"])
    legs = {c.call_id for c in direct_calls(CALL_PCAP)}
    assert len(legs) == 2
    for cid in legs:
        had = [c for c in cdrs if c.call_id == cid and c.state == "shutdown"]
        took = [c for c in cdrs if c.call_id == cid and c.state == "completed"]
        assert len(had) == len(took) == 1, cdrs
        assert "mirror_split" in had[0].flags and had[0].final_code == 200
        assert {"mirror_split", "no_invite_seen"} <= set(took[0].flags)
        assert took[0].bye_code == 200 and len(took[0].streams) == 2
    assert len(cdrs) == 4  # nothing else from the dialogs' halves
