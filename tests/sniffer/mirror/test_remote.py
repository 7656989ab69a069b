"""A sender's sensor on the receiver: where its stream resumes, failover splits flagged (on the
receiver that had the call and on the one that took the rest of it over), a new run of the
sender starting afresh, the state kept across receiver restarts."""

from __future__ import annotations

from pathlib import Path

from db.records import CallRecord, Record
from db.settings import load_settings
from sniffer.analyzer import Analyzer
from sniffer.mirror.remote import SPLIT_FLAG, ReceiverClock, RemoteSensor
from tests.sniffer.mirror.harness import CALL_PCAP, SPLIT_AT, packets_of


def _sensor(tmp_path: Path, **extra: object) -> RemoteSensor:
    settings = load_settings(
        None, {"storage.db_url": "mysql://u@127.0.0.1:1/x", "spool.dir": str(tmp_path), **extra}
    )
    return RemoteSensor(settings, "pbx1", 7, receiver=ReceiverClock(tmp_path / "journal"))


def _calls(records: list[Record]) -> dict[str, CallRecord]:
    return {r.call_id: r for r in records if isinstance(r, CallRecord)}


def _recording(s: RemoteSensor) -> list[Record]:
    records: list[Record] = []
    s._sink = records.append  # type: ignore[method-assign]
    return records


def test_a_failover_mid_call_gives_a_split_cdr_on_both_receivers(tmp_path: Path) -> None:
    linktype, pkts = packets_of(CALL_PCAP)
    first, second = _sensor(tmp_path / "a"), _sensor(tmp_path / "b")
    got_first, got_second = _recording(first), _recording(second)
    assert first.resume("run-a", 0) == (0, False)
    first.feed(linktype, pkts[:SPLIT_AT])
    first.last_seq = 5
    # the sender fails over: the second receiver never saw this stream, frames 1..5 were
    # acknowledged by the first one
    assert second.resume("run-a", 5) == (5, False)
    second.feed(linktype, pkts[SPLIT_AT:])
    second.last_seq = 9
    assert first.resume("run-a", 9) == (9, True)  # the sender comes back
    for s in (first, second):
        for a in s.analyzers.values():
            a.finish("unterminated")
        s.writer.close(timeout=1.0)
    had, took = _calls(got_first), _calls(got_second)
    assert set(had) == set(took) and len(had) == 2  # the two legs of the B2BUA
    for cid, rec in had.items():
        assert SPLIT_FLAG in rec.flags and rec.state == "unterminated"
        assert rec.invite_ts is not None and rec.final_code == 200
        end = took[cid]
        assert {SPLIT_FLAG, "no_invite_seen"} <= set(end.flags)
        assert (end.state, end.bye_code) == ("completed", 200)
        assert end.invite_ts > rec.end_ts - 1  # the second part begins where the first ended
        assert len(end.streams) == 2 and all(st.packets > 500 for st in end.streams)
        assert {st.direction for st in end.streams} == {"caller", "callee"}
        assert {(st.src_ip, st.src_port, st.ssrc) for st in end.streams} <= {
            (st.src_ip, st.src_port, st.ssrc) for st in rec.streams
        }
    assert second.counters["calls.adopted"] == 2
    assert second.counters["rtp.adopted_streams"] == 4
    assert second.mirror["adopt_windows"] == 1


def test_without_a_takeover_stray_in_dialog_sip_makes_no_call(tmp_path: Path) -> None:
    linktype, pkts = packets_of(CALL_PCAP)
    # a plain capture sensor started mid-call
    records: list[Record] = []
    a = Analyzer(linktype, records.append)
    a.feed(pkts[SPLIT_AT:])
    a.finish("unterminated")
    assert _calls(records) == {} and a.counters["sip.no_dialog"] >= 4
    assert a.counters["calls.adopted"] == 0
    # a receiver on a stream's start (nothing acknowledged elsewhere), and one with the
    # window turned off: neither adopts
    for s in (_sensor(tmp_path / "c"), _sensor(tmp_path / "d", **{"mirror.split_adopt_s": 0})):
        got = _recording(s)
        acked = 0 if s.settings.mirror.split_adopt_s else 5
        s.resume("run-a", acked)
        s.feed(linktype, pkts[SPLIT_AT:])
        for an in s.analyzers.values():
            an.finish("unterminated")
        s.writer.close(timeout=1.0)
        assert _calls(got) == {} and s.counters["calls.adopted"] == 0


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


def test_rtp_of_several_sessions_between_the_hosts_is_not_guessed(tmp_path: Path) -> None:
    """Two RTP sessions between a split call's hosts could be two calls: none is taken."""
    linktype, pkts = packets_of(CALL_PCAP)
    tail = pkts[SPLIT_AT:]
    other = []  # a second session: the same RTP on ports 2 higher
    for ts, f in tail[:400]:
        if b"SIP/2.0" not in f and f[23] == 17:
            ports = (int.from_bytes(f[34:36]) + 2, int.from_bytes(f[36:38]) + 2)
            other.append((ts, f[:34] + b"".join(p.to_bytes(2) for p in ports) + f[38:]))
    s = _sensor(tmp_path)
    got = _recording(s)
    s.resume("run-a", 5)
    s.feed(linktype, sorted(other + tail, key=lambda p: p[0]))
    for a in s.analyzers.values():
        a.finish("unterminated")
    s.writer.close(timeout=1.0)
    calls = _calls(got)
    assert len(calls) == 2 and all(c.streams == [] for c in calls.values())
    assert s.counters["rtp.adopt_ambiguous"] == 2 and s.counters["rtp.adopted_streams"] == 0
