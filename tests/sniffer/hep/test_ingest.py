"""HEP packets into sensors: auth keys per capture id, one sensor per capture id and node,
SIP and RTP analysed like captured packets, other types counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.errors import ConfigError
from db.settings import load_settings
from sniffer.analyzer import Analyzer
from sniffer.counters import Counters
from sniffer.decode.hep import HepPacket, encode_hep3
from sniffer.hep.ingest import HepIngest, load_auth_keys, sensor_of
from sniffer.mirror.pool import SensorPool
from sniffer.sip.framing import looks_like_sip
from tests.sniffer.mirror.harness import CALL_PCAP, direct_calls, packets_of


def test_auth_keys_file(tmp_path: Path) -> None:
    p = tmp_path / "keys"
    p.write_text("# id key\n2001 secret\n7 other\n")
    assert load_auth_keys(p) == {2001: b"secret", 7: b"other"}
    p.write_text("x secret\n")
    with pytest.raises(ConfigError, match=r"line 1: expected 'CAPTURE_ID KEY'$"):
        load_auth_keys(p)


def test_sensor_of_capture_id_and_node() -> None:
    assert sensor_of(HepPacket(capture_id=9)) == ("hep:9:", "hep-9", "hep-9-")
    assert sensor_of(HepPacket(capture_id=9, node_name=b"sbc 1/a")) == (
        "hep:9:sbc_1_a", "sbc_1_a", "hep-9-sbc_1_a",
    )  # fmt: skip


def _hep_of_file(capture_id: int, node: bytes | None, key: bytes | None) -> list[bytes]:
    """Every UDP payload of the call capture as HEP (SIP type 1, RTP type 4)."""
    import dpkt

    out = []
    _lt, pkts = packets_of(CALL_PCAP)
    for ts, frame in pkts:
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.udp.UDP):
            continue
        u = ip.data
        payload = bytes(u.data)
        kind = 1 if looks_like_sip(payload) else 4
        pkt = HepPacket(
            ip_proto=17, src_ip=ip.src, dst_ip=ip.dst, src_port=u.sport, dst_port=u.dport,
            ts_sec=int(ts), ts_usec=round((ts % 1) * 1e6), proto_type=kind,
            capture_id=capture_id, payload=payload, auth_key=key, node_name=node,
        )  # fmt: skip
        out.append(encode_hep3(pkt, compress=kind == 1))
    return out


async def test_hep_from_two_nodes_are_two_sensors(tmp_path: Path, db_url: str) -> None:
    settings = load_settings(None, {"storage.db_url": db_url, "spool.dir": str(tmp_path / "s")})
    from tests.db.mariadb import next_sensor_id
    from tests.sniffer.mirror.harness import preset_sensor_ids

    preset_sensor_ids(
        tmp_path / "s", {"hep-2001-a": next_sensor_id(), "hep-2001-b": next_sensor_id()}
    )
    pool = SensorPool(settings, tmp_path / "journal")
    counters = Counters()
    ingest = HepIngest(pool, counters, auth_keys={2001: b"k"})
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    await asyncio.sleep(0.01)
    try:
        for node in (b"a", b"b"):
            for data in _hep_of_file(2001, node, b"k"):
                await ingest.handle(data, 0.0)
        for data in _hep_of_file(2001, b"a", b"wrong")[:5]:
            await ingest.handle(data, 0.0)
        log = HepPacket(proto_type=100, capture_id=5, src_ip=bytes(4), dst_ip=bytes(4))
        await ingest.handle(encode_hep3(log), 0.0)
        await ingest.handle(b"HEP3garbage", 0.0)
        sensors = pool.of_kind("hep")
        assert set(sensors) == {"a", "b"}
        want = direct_calls(CALL_PCAP)
        for s in sensors.values():
            assert s.counters["calls.created"] == len(want) > 0
            assert s.counters["rtp.streams"] >= 2
        assert counters["hep.auth_failed"] == 5
        assert counters["hep.type_100"] == 1 and counters["hep.bad_packet"] == 1
        assert counters["hep.sip"] > 0 and counters["hep.rtp"] > 1000
    finally:
        stop.set()
        await task


def _hep_payloads(path: Path) -> list[bytes]:
    """The HEP packets of a capture (UDP to port 9060), as a listener would receive them."""
    import dpkt

    out = []
    _lt, pkts = packets_of(path)
    for _ts, frame in pkts:
        raw = frame
        if _lt == 113:  # Linux cooked: 16-byte header
            raw = b"\x00" * 12 + frame[14:16] + frame[16:]
        eth = dpkt.ethernet.Ethernet(raw)
        ip = eth.data
        if (
            isinstance(ip, dpkt.ip.IP)
            and isinstance(ip.data, dpkt.udp.UDP)
            and ip.data.dport == 9060
        ):
            out.append(bytes(ip.data.data))
    return out


@pytest.mark.parametrize(
    ("name", "sip", "other"),
    [("hep3_sip_rtcp_log_hepgen.pcap", 6, {"hep.type_100": 1, "hep.rtcp_json": 1}),
     ("hep3_zlib_register_sll.pcapng", 21, {})],
)  # fmt: skip
async def test_golden_hep_captures(
    name: str, sip: int, other: dict[str, int], tmp_path: Path, db_url: str
) -> None:
    """The HEP packets of real captures, received as a listener gets them: every SIP message
    analysed (as many as the capture's own analysis finds), the rest counted by type."""
    from tests.db.mariadb import next_sensor_id
    from tests.sniffer.mirror.harness import DATA, preset_sensor_ids

    path = DATA / name
    payloads = _hep_payloads(path)
    assert payloads
    settings = load_settings(None, {"storage.db_url": db_url, "spool.dir": str(tmp_path / "s")})
    ids = {f"hep-{cid}-": next_sensor_id() for cid in (2001, 0, 1, 2000)}
    preset_sensor_ids(tmp_path / "s", ids)
    pool = SensorPool(settings, tmp_path / "journal")
    counters = Counters()
    ingest = HepIngest(pool, counters)
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    await asyncio.sleep(0.01)
    try:
        for data in payloads:
            await ingest.handle(data, 1.0)
        assert counters["hep.sip"] == sip
        for key, n in other.items():
            assert counters[key] == n, counters.snapshot()
        got = Counters()
        for s in pool.sensors.values():
            got.merge(s.counters)
        direct = Counters()
        lt, pkts = packets_of(path)
        a = Analyzer(lt, lambda r: None, counters=direct)
        a.feed(pkts)
        a.finish()
        for key in ("sip.requests", "sip.responses", "calls.created"):
            assert got[key] == direct[key], key
    finally:
        stop.set()
        await task
