"""Payload type and clock-rate tables, codec impairment values."""

import pytest

from sniffer.rtp.codecs import (
    CODEC_IMPAIRMENT,
    DEFAULT_IMPAIRMENT,
    STATIC_PT,
    clock_rate_for,
    default_ptime_ms,
    impairment_for,
    is_telephone_event,
    lookahead_ms,
)


def test_static_payload_types() -> None:
    assert STATIC_PT[0] == ("PCMU", 8000)
    assert STATIC_PT[8] == ("PCMA", 8000)
    assert STATIC_PT[9] == ("G722", 8000)
    assert STATIC_PT[13] == ("CN", 8000)
    assert STATIC_PT[18] == ("G729", 8000)
    assert STATIC_PT[34] == ("H263", 90000)
    assert all(pt < 96 for pt in STATIC_PT)


@pytest.mark.parametrize(
    ("encoding", "rtpmap", "rate"),
    [
        ("opus", 48000, 48000),
        ("opus", None, 48000),
        ("G722", 16000, 8000),
        ("g722", None, 8000),
        ("PCMU", None, 8000),
        ("pcma", 8000, 8000),
        ("telephone-event", 8000, 8000),
        ("telephone-event", 48000, 48000),
        ("AMR-WB", None, 16000),
        ("iLBC", None, 8000),
        ("L16", None, 44100),
        ("L16", 16000, 16000),
        ("x-unknown", None, 0),
        ("x-unknown", 12000, 12000),
        ("x-unknown", 0, 0),
    ],
)
def test_clock_rate_for(encoding: str, rtpmap: int | None, rate: int) -> None:
    assert clock_rate_for(encoding, rtpmap) == rate


def test_is_telephone_event() -> None:
    assert is_telephone_event("telephone-event")
    assert is_telephone_event("TELEPHONE-EVENT/8000")
    assert not is_telephone_event("PCMU")
    assert not is_telephone_event("telephone-events")


def test_impairment_table() -> None:
    assert CODEC_IMPAIRMENT["PCMU"] == CODEC_IMPAIRMENT["PCMA"] == (0.0, 25.1)
    assert CODEC_IMPAIRMENT["G711-NOPLC"] == (0.0, 4.3)
    assert CODEC_IMPAIRMENT["G729A"] == (11.0, 19.0)
    assert CODEC_IMPAIRMENT["G723"] == (15.0, 16.1)
    assert all(k == k.upper() for k in CODEC_IMPAIRMENT)
    assert all(0 <= ie < 95 and bpl > 0 for ie, bpl in CODEC_IMPAIRMENT.values())
    assert impairment_for("g729/8000") == (11.0, 19.0)
    assert impairment_for("speex-unknown") == DEFAULT_IMPAIRMENT


def test_delays() -> None:
    assert lookahead_ms("G729") == 5.0 and lookahead_ms("PCMU") == 0.0
    assert default_ptime_ms("G723") == 30.0 and default_ptime_ms("PCMA") == 20.0
