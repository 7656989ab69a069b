"""Tunnels through the mirror: frames keep their link type and encapsulation on the wire, so
the receiver decodes every encapsulation exactly like an analysis of the capture itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.records import Record, record_to_dict
from sniffer.mirror.batch import BatchEncoder
from sniffer.mirror.buffer import Pending
from sniffer.mirror.frames import FLAG_ZSTD
from sniffer.mirror.remote import RemoteSensor
from tests.db.mariadb import next_sensor_id
from tests.pcapgen import encapsulate
from tests.sniffer.e2e import analyze_frames, multi_call_scenario
from tests.sniffer.mirror.harness import (
    make_receiver,
    preset_sensor_ids,
    receiver_settings,
    running,
    sender,
)

TUNNELS = ("vlan", "qinq", "mpls", "ipip", "6in4", "gre", "gre-teb", "erspan2", "erspan3",
           "vxlan", "tzsp", "hep3", "sll", "sll2", "raw", "frag", "tcp")  # fmt: skip


def _plain(records: list[Record]) -> list[dict[str, object]]:
    out = [record_to_dict(r) for r in records]
    for d in out:
        d.pop("pcap", None)
    return sorted(out, key=lambda d: (str(d["type"]), str(d.get("call_id")), str(d.get("ts"))))


@pytest.mark.parametrize("how", TUNNELS)
async def test_every_encapsulation_arrives_decodable(
    how: str, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    linktype, frames = encapsulate(multi_call_scenario().packets, how)
    want = _plain(analyze_frames(linktype, frames).records)
    got: list[Record] = []
    monkeypatch.setattr(RemoteSensor, "_sink", lambda self, rec: got.append(rec))
    preset_sensor_ids(tmp_path / "spool", {"pbx1": next_sensor_id()})
    receiver = make_receiver(receiver_settings(tmp_path, db_url), tmp_path / "journal")
    async with running(receiver):
        client, buf, _ = sender(receiver, "pbx1")
        enc = BatchEncoder()
        for seq, i in enumerate(range(0, len(frames), 50), 1):
            body, z = enc.encode(linktype, frames[i : i + 50])
            buf.push(Pending(seq, FLAG_ZSTD if z else 0, body, len(frames[i : i + 50])))
        client.finish()
        await asyncio.wait_for(client.run(asyncio.Event()), 30)  # BYE: input ended
    assert _plain(got) == want
