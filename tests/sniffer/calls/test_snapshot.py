"""Crash recovery in the analyzer: a call's state taken mid-call (as the sensor's snapshot does),
through JSON, adopted by a fresh analyzer: the rest of the call completes its CDR, flagged
``recovered``, and its pcap goes on in the same file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from db.records import CallRecord, Record
from sniffer.analyzer import Analyzer
from sniffer.calls.snapshot import call_state, restore_call
from sniffer.capture.files import open_capture
from sniffer.spool.spool import CallPcapSpool
from tests.pcapgen import Call, MediaOpts, encapsulate
from tests.pcapgen.frames import LINKTYPE_ETHERNET

T0 = 1_700_000_000.0
CRASH_AT = T0 + 2.5
"""The call: INVITE at T0, answered at T0 + 1.05, RTP both ways for 4 s, then BYE."""
RESTART_AT = T0 + 3.5


def _frames() -> list[tuple[float, bytes]]:
    scen = Call(call_id="crash@t", talk_s=4.0, dtmf="1", info_dtmf="7",
                caller_media=MediaOpts(loss=frozenset({3}))).build()  # fmt: skip
    _lt, frames = encapsulate(scen.packets, "plain")
    return list(frames)


def _run(frames: list[tuple[float, bytes]], spool: CallPcapSpool | None = None) -> CallRecord:
    records: list[Record] = []
    a = Analyzer(LINKTYPE_ETHERNET, records.append, spool=spool)
    a.feed(frames)
    a.finish()
    [rec] = [r for r in records if isinstance(r, CallRecord)]
    return rec


def _crash_and_recover(
    spool_dir: Path | None = None, gzip: bool = False
) -> tuple[CallRecord, dict[str, Any]]:
    """Analyse up to CRASH_AT, take the state (JSON), lose everything after it until
    RESTART_AT, adopt the state in a new analyzer, analyse the rest."""
    frames = _frames()
    before = [f for f in frames if f[0] < CRASH_AT]
    after = [f for f in frames if f[0] >= RESTART_AT]
    records: list[Record] = []
    spool = CallPcapSpool(spool_dir, LINKTYPE_ETHERNET, gzip=gzip) if spool_dir else None
    a = Analyzer(LINKTYPE_ETHERNET, records.append, spool=spool)
    a.feed(before)
    states = [json.loads(s) for s in a.call_states()]  # the sensor keeps them as JSON
    assert records == []  # SIGKILL: nothing more happens in this process
    spool2 = CallPcapSpool(spool_dir, LINKTYPE_ETHERNET, gzip=gzip) if spool_dir else None
    b = Analyzer(LINKTYPE_ETHERNET, records.append, spool=spool2)
    assert b.adopt(states) == 1
    b.feed(after)
    b.finish()
    if spool2 is not None:
        spool2.close()
    [rec] = [r for r in records if isinstance(r, CallRecord)]
    return rec, b.counters.snapshot()


def test_a_recovered_call_completes_its_cdr() -> None:
    whole = _run(_frames())
    rec, counters = _crash_and_recover()
    assert counters["calls.recovered"] == 1
    assert rec.flags == sorted({*whole.flags, "recovered"})
    same = ("call_id", "uid", "caller", "caller_domain", "called", "called_domain", "caller_ip",
            "caller_port", "called_ip", "called_port", "invite_ts", "ringing_ts", "answer_ts",
            "end_ts", "duration_s", "connect_duration_s", "final_code", "final_reason",
            "hangup_by", "state", "codecs", "bye_code", "caller_ua", "called_ua", "transport")  # fmt: skip
    for key in same:
        assert getattr(rec, key) == getattr(whole, key), key
    assert (rec.state, rec.hangup_by) == ("completed", "caller")
    assert rec.dtmf == whole.dtmf == "17"  # both digits came before the crash: kept
    # the streams only cover what came after the restart, in both directions
    assert {s.direction for s in rec.streams} == {"caller", "callee"}
    for s in rec.streams:
        assert s.first_ts >= RESTART_AT
        full = next(w for w in whole.streams if w.ssrc == s.ssrc)
        assert 0 < s.packets < full.packets and s.last_ts == full.last_ts
    assert rec.sip_messages == whole.sip_messages  # no SIP in the gap


def test_state_round_trip() -> None:
    a = Analyzer(LINKTYPE_ETHERNET, lambda r: None)
    a.feed([f for f in _frames() if f[0] < CRASH_AT])
    [text] = a.call_states()
    state = json.loads(text)
    call, targets = restore_call(state)
    call.media_targets = targets  # what the tracker does when it adopts the call
    again = call_state(call, state["last_ts"])
    assert again.pop("flags") == sorted({*state.pop("flags"), "recovered"})
    media = again.pop("media")
    assert media == state.pop("media") and len(targets) == len(media) == 4  # RTP+RTCP x 2
    assert again == state


@pytest.mark.parametrize("gzip", [False, True])
def test_the_pcap_goes_on_in_the_same_file(tmp_path: Path, gzip: bool) -> None:
    rec, _counters = _crash_and_recover(tmp_path, gzip)
    assert rec.pcap is not None
    [only] = [p for p in tmp_path.rglob("*.pcap*")]
    assert str(only.relative_to(tmp_path)) == rec.pcap
    with open_capture(str(only)) as src:
        times = [ts for ts, _ in src.packets()]
        assert src.warning is None
    assert times == sorted(times)
    assert times[0] == T0 and times[-1] > RESTART_AT  # the INVITE and the BYE
    assert not [t for t in times if CRASH_AT <= t < RESTART_AT]


def test_a_tail_cut_short_by_the_kill_is_cut_off(tmp_path: Path) -> None:
    frames = _frames()
    spool = CallPcapSpool(tmp_path, LINKTYPE_ETHERNET)
    a = Analyzer(LINKTYPE_ETHERNET, lambda r: None, spool=spool)
    a.feed([f for f in frames if f[0] < CRASH_AT])
    states = [json.loads(s) for s in a.call_states()]
    [path] = tmp_path.rglob("*.pcap")
    whole = path.stat().st_size
    with path.open("ab") as f:
        f.write(b"\x01\x02\x03\x04" * 5)  # a record header and a bit: killed mid-write
    spool2 = CallPcapSpool(tmp_path, LINKTYPE_ETHERNET)
    b = Analyzer(LINKTYPE_ETHERNET, lambda r: None, spool=spool2)
    b.adopt(states)
    assert path.stat().st_size == whole
    assert spool2.counters["calls_adopted"] == 1
    b.feed([f for f in frames if f[0] >= RESTART_AT])
    b.finish()
    spool2.close()
    with open_capture(str(path)) as src:
        assert sum(1 for _ in src.packets()) > 100 and src.warning is None


def test_a_state_that_cannot_be_read_is_counted_and_skipped() -> None:
    a = Analyzer(LINKTYPE_ETHERNET, lambda r: None)
    a.feed([f for f in _frames() if f[0] < CRASH_AT])
    good = json.loads(a.call_states()[0])
    bad: list[dict[str, Any]] = [
        {"call_id": 5},
        {**good, "caller_ip": "not an ip"},
        {**good, "media": [["10.0.0.1", 4000, "nobody", False, {}]]},
        {**good, "first_ts": "yesterday"},
    ]
    b = Analyzer(LINKTYPE_ETHERNET, lambda r: None)
    assert b.adopt([*bad, good, good]) == 1
    c = b.counters
    assert (c["calls.recovery_bad_state"], c["calls.recovery_refused"], c["calls.recovered"]) == (
        4, 1, 1,
    )  # fmt: skip


def test_a_stale_snapshot_times_out_at_once() -> None:
    """A sensor down for an hour: its calls are closed at the first tick, flagged both."""
    records: list[Record] = []
    a = Analyzer(LINKTYPE_ETHERNET, lambda r: None)
    a.feed([f for f in _frames() if f[0] < CRASH_AT])
    b = Analyzer(LINKTYPE_ETHERNET, records.append)
    b.adopt(json.loads(s) for s in a.call_states())
    b.feed([(CRASH_AT + 3600, b"\0" * 60)])
    [rec] = [r for r in records if isinstance(r, CallRecord)]
    assert (rec.state, rec.flags) == ("timeout", ["recovered", "sip_info_dtmf", "timeout"])
    assert CRASH_AT - 0.1 < rec.end_ts < CRASH_AT  # its last RTP packet before the crash
