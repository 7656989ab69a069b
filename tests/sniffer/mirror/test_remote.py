"""A sender's sensor on the receiver: where its stream resumes, failover splits flagged, a
new run of the sender starting afresh, the state kept across receiver restarts."""

from __future__ import annotations

from pathlib import Path

from db.settings import load_settings
from sniffer.mirror.remote import SPLIT_FLAG, ReceiverClock, RemoteSensor
from tests.sniffer.mirror.harness import CALL_PCAP, packets_of


def _sensor(tmp_path: Path) -> RemoteSensor:
    settings = load_settings(
        None, {"storage.db_url": "mysql://u@127.0.0.1:1/x", "spool.dir": str(tmp_path)}
    )
    return RemoteSensor(settings, "pbx1", 7, receiver=ReceiverClock(tmp_path / "journal"))


def test_resume_split_and_new_runs(tmp_path: Path) -> None:
    s = _sensor(tmp_path)
    assert s.resume("run-a", 0) == (0, False)
    linktype, pkts = packets_of(CALL_PCAP)
    invite = next(i for i, (_, f) in enumerate(pkts) if b"INVITE sip:" in f)
    s.feed(linktype, pkts[: invite + 5])  # a call in progress
    s.last_seq = 5
    assert [c.flags for c in s.open_calls()] == [set()]
    # the sender comes back from another receiver that analysed frames 6..9
    assert s.resume("run-a", 9) == (9, True)
    assert [SPLIT_FLAG in c.flags for c in s.open_calls()] == [True]
    # the same receiver, nothing elsewhere: no split
    assert s.resume("run-a", 4) == (9, False)
    # a new run of the sender: its frames count from 1 again
    assert s.resume("run-b", 0) == (0, False)
    assert s.mirror["streams_restarted"] == 1
    s.writer.close(timeout=1.0)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    s = _sensor(tmp_path)
    s.resume("run-a", 0)
    s.last_seq, s.stream_packets = 42, 1000
    s.save_state()
    s.writer.close(timeout=1.0)  # the receiver stops (its journal is released)
    again = _sensor(tmp_path)
    assert (again.stream, again.last_seq, again.stream_packets) == ("run-a", 42, 1000)
    assert again.resume("run-a", 40) == (42, False)
    assert (tmp_path / ".mirror" / "pbx1.json").stat().st_mode & 0o007 == 0
    again.writer.close(timeout=1.0)
