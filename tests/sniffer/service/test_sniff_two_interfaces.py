"""One sensor, two interfaces: the SIP of a call on one (a signalling network), its RTP on the
other (a media network). The sensor's one analyzer makes one CDR with both streams, and one
pcap holding the SIP and the RTP.

Two namespaces joined by two veth pairs: the callee (sipp, echoing RTP) and ``callsift sniff
-i SIG -i MEDIA`` in the test's namespace, the caller (sipp) in a peer namespace."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.live import Netns
from tests.live.sensor import SensorProcess
from tests.sniffer.service.live import (
    BPF,
    G711A_PACKETS,
    SCENARIO,
    UAS_MEDIA_PORT,
    UAS_SIP_PORT,
    row_counts,
    stored_calls,
    wait_for,
)

pytestmark = pytest.mark.slow

SIG_NET, MEDIA_NET = "10.71.1", "10.71.2"
"""The callee is .1 on both networks, the caller .2."""


def test_sip_on_one_interface_rtp_on_another_is_one_call(
    ns: Netns,
    netns: Callable[[], Netns],
    db_url: str,
    sensor_id: int,
    tmp_path: Path,
) -> None:
    peer = netns()
    sig, sig_peer = ns.veth(peer)
    media, media_peer = ns.veth(peer)
    for here, dev, net in ((ns, sig, SIG_NET), (ns, media, MEDIA_NET)):
        here.ip("addr", "add", f"{net}.1/24", "dev", dev)
    for dev, net in ((sig_peer, SIG_NET), (media_peer, MEDIA_NET)):
        peer.ip("addr", "add", f"{net}.2/24", "dev", dev)
    uas = ns.popen(
        ["sipp", "-sn", "uas", "-i", f"{SIG_NET}.1", "-p", str(UAS_SIP_PORT),
         "-mi", f"{MEDIA_NET}.1", "-mp", str(UAS_MEDIA_PORT), "-rtp_echo", "-nostdin"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    spool = tmp_path / "spool"
    sensor = SensorProcess(
        ns, iface=sig, bpf=BPF, db_url=db_url, sensor_id=sensor_id, spool=spool,
        env={"CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0"},
        extra_args=("-i", media),
    )  # fmt: skip
    try:
        sensor.wait_ready(20)
        caller = peer.run(
            ["sipp", f"{SIG_NET}.1:{UAS_SIP_PORT}", "-sf", str(SCENARIO),
             "-i", f"{SIG_NET}.2", "-p", "5081", "-mi", f"{MEDIA_NET}.2", "-mp", "7000",
             "-m", "1", "-nostdin", "-timeout", "40s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60,
        )  # fmt: skip
        assert caller.returncode == 0, caller.stderr.decode()[-500:]
        wait_for(lambda: row_counts(db_url, sensor_id)["cdr"] >= 1, 30, "the CDR in MariaDB")
    finally:
        rc, _took, log = sensor.stop()
        sensor.kill()
        uas.kill()
    assert rc == 0, log
    calls = stored_calls(db_url, sensor_id)
    assert len(calls) == 1, calls
    (c,) = calls
    assert (c.final_code, c.state, c.hangup_by) == (200, "completed", "caller")
    streams = sorted(c.streams, key=lambda s: s.dst_port == UAS_MEDIA_PORT)
    assert len(streams) == 2, streams
    for s in streams:
        assert (s.codec, s.packets, s.lost) == ("PCMA", G711A_PACKETS, 0), s
        assert {s.src_ip, s.dst_ip} == {f"{MEDIA_NET}.1", f"{MEDIA_NET}.2"}, s
    assert {s.direction for s in streams} == {"caller", "callee"}
    assert c.pcap is not None
    out = subprocess.run(
        ["tshark", "-r", str(spool / c.pcap), "-Y", "sip || rtp",
         "-d", "udp.port==7000-7200,rtp", "-T", "fields", "-e", "ip.dst"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    dsts = out.stdout.split()
    assert dsts.count(f"{SIG_NET}.1") >= 3 and dsts.count(f"{MEDIA_NET}.1") == G711A_PACKETS
    assert row_counts(db_url, sensor_id)["duplicates"] == 0
