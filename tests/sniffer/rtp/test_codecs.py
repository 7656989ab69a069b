"""Payload type and clock-rate tables, codec impairment values."""

import pytest

from sniffer.rtp import emodel
from sniffer.rtp.codecs import (
    CODEC_IMPAIRMENT,
    STATIC_PT,
    canonical_encoding,
    clock_rate_for,
    default_ptime_ms,
    impairment_for,
    is_audio_encoding,
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


@pytest.mark.parametrize(
    ("alias", "codec"),
    [("AAL2-G726-32", "G726-32"), ("aal2-g726-24", "G726-24"), ("AAL2-G726-40", "G726-40"),
     ("AAL2-G726-16", "G726-16"), ("G721", "G726-32")],
)  # fmt: skip
def test_aliases_share_the_codec_values(alias: str, codec: str) -> None:
    """AAL2-G726-32 is G.726 at 32 kbit/s in another bit order: the same MOS, not G.711's."""
    assert impairment_for(alias) == CODEC_IMPAIRMENT[codec]
    assert clock_rate_for(alias, None) == 8000
    assert emodel.mos_for(alias, 1.0, 1.0, 2.0, 0.0, 20) == emodel.mos_for(
        codec, 1.0, 1.0, 2.0, 0.0, 20
    )


def test_g726_ladder() -> None:
    """G.113 Table I.1: the lower the bit rate, the larger Ie (40 kbit/s is no longer G.711)."""
    ies = [impairment_for(f"G726-{k}") for k in (40, 32, 24, 16)]
    assert [ie[0] for ie in ies if ie] == [2.0, 7.0, 25.0, 50.0]
    moses = [emodel.mos_for(f"G726-{k}", 0, 1, 0, 0, 20) for k in (40, 32, 24, 16)]
    g711 = emodel.mos_for("PCMA", 0, 1, 0, 0, 20)
    assert g711 is not None and all(m is not None for m in moses)
    assert g711 > moses[0] > moses[1] > moses[2] > moses[3]  # type: ignore[operator]


@pytest.mark.parametrize(
    "name", ["LPC", "DVI4", "L16", "QCELP", "1016", "MPA", "G7221", "EVRC", "EVS", "G729D",
             "speex-unknown", "PT96"],
)  # fmt: skip
def test_no_mos_without_a_basis(name: str) -> None:
    """No invented MOS: codecs without E-model impairment values get none (docs/QUALITY.md)."""
    assert impairment_for(name) is None
    assert emodel.mos_for(name, 0.0, 1.0, 1.0, 0.0, 20) is None


def test_canonical_names_and_audio() -> None:
    assert canonical_encoding("pcma") == canonical_encoding("PCMA/8000") == "PCMA"
    assert canonical_encoding(" opus/48000/2") == "OPUS"
    for video in ("H263", "h264", "VP8", "H263-1998", "JPEG", "t140", "telephone-event"):
        assert not is_audio_encoding(video), video
    for audio in ("PCMU", "opus", "G722", "AMR-WB", "LPC", "PT96"):
        assert is_audio_encoding(audio), audio


def test_delays() -> None:
    assert lookahead_ms("G729") == 5.0 and lookahead_ms("PCMU") == 0.0
    assert default_ptime_ms("G723") == 30.0 and default_ptime_ms("PCMA") == 20.0
