"""``callsift analyze`` as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sniffer.golden import GOLDEN

pytestmark = pytest.mark.slow  # one callsift process per test

CALL_KEYS = {
    "call_id", "caller", "caller_domain", "caller_name", "called", "called_domain", "caller_ip",
    "caller_port", "called_ip", "called_port", "vlan", "invite_ts", "ringing_ts", "answer_ts",
    "end_ts", "duration_s", "connect_duration_s", "final_code", "final_reason", "hangup_by",
    "state", "codecs", "dtmf", "streams", "pcap",
}  # fmt: skip
STREAM_KEYS = {
    "src_ip", "src_port", "dst_ip", "dst_port", "ssrc", "payload_type", "codec", "packets",
    "lost", "loss_pct", "duplicates", "out_of_order", "max_delta_ms", "max_jitter_ms",
    "mean_jitter_ms", "mos", "rtcp", "playout_discard_pct",
}  # fmt: skip
TCP_CALL = GOLDEN / "sip_tcp_call_rtp_rtcp.pcap"


def callsift(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sniffer.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def records(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_json_lines_follow_the_contract() -> None:
    r = callsift("analyze", "--json", str(TCP_CALL))
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    calls = [x for x in recs if x["type"] == "call"]
    assert len(calls) == 1
    call = calls[0]
    assert set(call) >= CALL_KEYS
    assert call["call_id"] == "158936656982201062716@10.33.6.100"
    assert (call["final_code"], call["state"], call["codecs"]) == (200, "completed", ["PCMA", "CN"])
    assert call["duration_s"] == pytest.approx(call["end_ts"] - call["invite_ts"], abs=1e-6)
    streams = call["streams"]
    assert isinstance(streams, list) and len(streams) == 2
    for s in streams:
        assert set(s) >= STREAM_KEYS
        assert isinstance(s["ssrc"], int) and isinstance(s["src_port"], int)
    assert sorted(s["packets"] for s in streams) == [24, 42]


def test_stats_record_with_counters() -> None:
    r = callsift("analyze", "--json", "--stats", str(TCP_CALL))
    stats = [x for x in records(r.stdout) if x["type"] == "stats"]
    assert len(stats) == 1
    assert stats[0]["packets"] == 84
    assert stats[0]["counters"]["sip.requests"] == 3


def test_table_output_by_default() -> None:
    r = callsift("analyze", str(TCP_CALL))
    assert r.returncode == 0
    assert "Calls (1)" in r.stdout
    assert "completed" in r.stdout and "PCMA" in r.stdout


def test_gzip_capture_reads_like_the_plain_one(tmp_path: Path) -> None:
    gz = tmp_path / "call.pcap.gz"
    gz.write_bytes(gzip.compress(TCP_CALL.read_bytes()))
    plain = records(callsift("analyze", "--json", str(TCP_CALL)).stdout)
    zipped = records(callsift("analyze", "--json", str(gz)).stdout)
    assert plain == zipped


def test_missing_file_is_one_clear_line() -> None:
    r = callsift("analyze", "/nonexistent/capture.pcap")
    assert r.returncode == 1
    assert r.stderr.strip() == "callsift: /nonexistent/capture.pcap: no such file"


def test_not_a_capture(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not a pcap\n")
    r = callsift("analyze", str(bad))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "not a pcap or pcapng file" in r.stderr


def test_truncated_file_is_analysed_up_to_the_damage(tmp_path: Path) -> None:
    data = (GOLDEN / "sip_rtp_g711u_call_register_voipshark.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) * 2 // 3 + 7])
    r = callsift("analyze", "--json", str(cut))
    assert r.returncode == 3
    assert "warning" in r.stderr and "truncated" in r.stderr
    calls = [x for x in records(r.stdout) if x["type"] == "call"]
    assert len(calls) == 2  # both legs were set up before the damage


def test_bad_arguments_exit_2() -> None:
    r = callsift("analyze", "--call-timeout", "-5", str(TCP_CALL))
    assert r.returncode == 2
    assert "must be > 0" in r.stderr


def test_spool_writes_one_pcap_per_call(tmp_path: Path) -> None:
    r = callsift("analyze", "--json", "--spool", str(tmp_path), str(TCP_CALL))
    assert r.returncode == 0, r.stderr
    call = next(x for x in records(r.stdout) if x["type"] == "call")
    path = tmp_path / str(call["pcap"])
    assert path.is_file()
    assert str(call["pcap"]).startswith("2011-07-28/12/54/")
    out = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True, check=True)
    assert len(out.stdout.splitlines()) > 60


def test_unwritable_spool(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = callsift("analyze", "--spool", str(blocker / "spool"), str(TCP_CALL))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "spool" in r.stderr
