"""Helpers for the live-sensor tests: sipp peers on the loopback of a network namespace of
their own (tests/live), where ``callsift sniff -i lo`` runs too and reaches MariaDB through a
relay."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.live.cdrs import row_counts, stored_calls
from tests.live.netns import Netns
from tests.live.sensor import SensorProcess

__all__ = ["row_counts", "stored_calls"]

SCENARIO = Path(__file__).parent / "sipp" / "uac_pcap_audio.xml"
G711A_PACKETS = 236
"""RTP packets in /usr/share/sip-tester/g711a.pcap (what the caller plays, and gets echoed)."""
UAS_SIP_PORT = 5070
UAS_MEDIA_PORT = 6000
"""Ports inside the test's namespace: nothing else listens there."""

BPF = (
    f"udp and (port {UAS_SIP_PORT} or port {UAS_MEDIA_PORT} or portrange 5081-5099 "
    "or portrange 7000-7200)"
)


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


class Uas:
    """sipp answering every call, echoing RTP (the callee), inside ``ns``."""

    def __init__(self, ns: Netns) -> None:
        self.proc = ns.popen(
            ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(UAS_SIP_PORT),
             "-mi", "127.0.0.1", "-mp", str(UAS_MEDIA_PORT), "-rtp_echo", "-nostdin"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def place_calls(
    ns: Netns, n: int, first_sip_port: int = 5081, first_media_port: int = 7000
) -> None:
    """``n`` concurrent calls inside ``ns``, one sipp caller each (own SIP and RTP ports); all
    must succeed."""
    procs = []
    for i in range(n):
        sip, media = str(first_sip_port + i), str(first_media_port + 10 * i)
        cmd = ["sipp", f"127.0.0.1:{UAS_SIP_PORT}", "-sf", str(SCENARIO), "-i", "127.0.0.1",
               "-p", sip, "-mi", "127.0.0.1", "-mp", media, "-m", "1", "-nostdin",
               "-timeout", "40s"]  # fmt: skip
        procs.append(ns.popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, f"sipp caller failed ({p.returncode}): {err.decode()[-500:]}"


def start_sniffer(ns: Netns, db_url: str, sensor_id: int, spool: Path) -> SensorProcess:
    """``callsift sniff -i lo`` inside ``ns``, answering /health (else it is killed)."""
    sensor = SensorProcess(
        ns, iface="lo", bpf=BPF, db_url=db_url, sensor_id=sensor_id, spool=spool,
        env={"CALLSIFT_HEARTBEAT_S": "1", "CALLSIFT_SPOOL_MAX_GB": "0"},
    )  # fmt: skip
    try:
        sensor.wait_ready(20)
    except BaseException:
        sensor.kill()
        raise
    return sensor
