"""One analyzer fed by several sources: frames of another link type than its own (converted for
its pcap spool), and SIP handed over already decoded (HEP) next to captured RTP, give the same
calls as the capture analysed on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from db.records import CallRecord, Record, record_to_dict
from sniffer.analyzer import READ_AHEAD, Analyzer
from sniffer.capture.files import open_capture
from sniffer.counters import Counters
from sniffer.decode.datagram import Decoded
from sniffer.decode.decoder import Decoder
from sniffer.decode.linktypes import DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2
from sniffer.decode.reframe import reframe
from sniffer.sip.framing import looks_like_sip
from sniffer.spool.spool import CallPcapSpool
from tests.sniffer.golden import GOLDEN, analyze

CALL = "sip_call_rtp_g711_wireshark_sample.pcap"


def _frames(name: str) -> tuple[int, list[tuple[float, bytes]]]:
    with open_capture(str(GOLDEN / name)) as src:
        return src.linktype, list(src.packets())


def _plain(records: list[Record]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        d = record_to_dict(r)
        d.pop("pcap", None)
        out.append(d)
    return out


def test_frames_of_another_link_type_are_the_same_call(tmp_path: Path) -> None:
    expected, _ = analyze(CALL)
    linktype, frames = _frames(CALL)
    assert linktype == DLT_EN10MB
    cooked = [(ts, reframe(f, DLT_EN10MB, DLT_LINUX_SLL)) for ts, f in frames]
    assert all(f is not None for _, f in cooked)
    records: list[Record] = []
    spool = CallPcapSpool(tmp_path, DLT_EN10MB)
    a = Analyzer(DLT_EN10MB, records.append, spool=spool)
    a.feed([(ts, f) for ts, f in cooked if f is not None], DLT_LINUX_SLL)
    a.finish()
    spool.close()
    assert _plain(records) == _plain(expected)
    call = next(r for r in records if isinstance(r, CallRecord))
    assert call.pcap is not None
    with open_capture(str(tmp_path / call.pcap)) as back:
        assert back.linktype == DLT_EN10MB
        stored = list(back.packets())
    assert stored and all(f[12:14] == b"\x08\x00" for _, f in stored)

    records2: list[Record] = []
    b = Analyzer(DLT_LINUX_SLL2, records2.append)  # no spool: analysed as they come
    b.feed([(ts, f) for ts, f in cooked if f is not None], DLT_LINUX_SLL)
    b.finish()
    assert _plain(records2) == _plain(expected)


def test_decoded_sip_and_captured_rtp_are_one_call() -> None:
    expected, _ = analyze(CALL)
    linktype, frames = _frames(CALL)
    decoder = Decoder(Counters())
    records: list[Record] = []
    a = Analyzer(linktype, records.append)
    sip = 0
    for ts, frame in frames:
        found = decoder.decode(linktype, ts, frame)
        if found and all(d.transport == 17 and looks_like_sip(d.payload) for d in found):
            sip += len(found)
            a.feed_decoded(
                Decoded(d.ts, d.transport, d.src, d.sport, d.dst, d.dport, d.payload) for d in found
            )
        else:
            a.feed([(ts, frame)])
    a.finish()
    assert sip >= 4
    assert _plain(records) == _plain(expected)
    assert a.packets == len(frames)


def test_reframe_round_trips_and_refuses() -> None:
    linktype, frames = _frames(CALL)
    _ts, frame = frames[0]
    for to in (DLT_LINUX_SLL, DLT_LINUX_SLL2, 101, 228):
        other = reframe(frame, linktype, to)
        assert other is not None and other.endswith(frame[14:])
        back = reframe(other, to, DLT_EN10MB)
        assert back is not None and back[12:] == frame[12:]
    assert reframe(frame, linktype, 229) is None  # an IPv4 packet is no LINKTYPE_IPV6 frame
    assert reframe(frame[:10], DLT_EN10MB, DLT_LINUX_SLL) is None
    assert reframe(b"\x00" * 20, 101, DLT_EN10MB) is None  # neither IPv4 nor IPv6
    assert reframe(frame, DLT_EN10MB, 9) is None  # PPP is not a target


class _SourceFailed(Exception):
    pass


def test_frames_read_ahead_before_a_failing_source_are_analysed() -> None:
    """The loop takes frames from its source a batch at a time (READ_AHEAD): when the source
    fails in the middle of a batch, the frames it gave first are analysed, each once, and then
    the source's own exception reaches the caller."""
    expected, _ = analyze(CALL)
    linktype, frames = _frames(CALL)
    assert len(frames) > 2 * READ_AHEAD
    cut = READ_AHEAD + READ_AHEAD // 2

    def source() -> Iterator[tuple[float, bytes]]:
        yield from frames[:cut]
        raise _SourceFailed("disk gone")

    records: list[Record] = []
    a = Analyzer(linktype, records.append)
    with pytest.raises(_SourceFailed, match="disk gone"):
        a.feed(source())
    assert a.packets == cut
    a.feed(frames[cut:])
    a.finish()
    assert a.packets == len(frames)
    assert _plain(records) == _plain(expected)
