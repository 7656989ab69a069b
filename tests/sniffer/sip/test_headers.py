import pytest

from sniffer.sip.headers import (
    COMPACT_FORMS,
    ascii_int,
    canonical_name,
    media_type,
    param_value,
    parse_params,
    split_params,
    via_summary,
)


def test_compact_forms_cover_the_documented_set() -> None:
    assert set(COMPACT_FORMS) == set("abcdefijklmorstuvxy")
    assert canonical_name(" I ") == "call-id"
    assert canonical_name("Content-Length") == "content-length"
    assert canonical_name("q") == "q"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("0070", 70),
        ("4294967295", 4294967295),
        ("", None),
        ("-1", None),
        ("1_0", None),
        ("²", None),
        ("٣", None),
        ("12345678901", None),
        (" 1", None),
    ],
)
def test_ascii_int(text: str, value: int | None) -> None:
    assert ascii_int(text) == value


def test_params() -> None:
    assert split_params('a=1;b="x;y";c') == ["a=1", 'b="x;y"', "c"]
    assert split_params('a="\\";";b') == ['a="\\";"', "b"]
    assert parse_params(' A = 1 ;b="x y";lr;a=2;;') == {"a": "1", "b": "x y", "lr": ""}
    assert param_value("SIP/2.0/UDP h;rport;Branch=z9hG4bK1", "branch") == "z9hG4bK1"
    assert param_value("no params", "branch") is None
    assert media_type(" Application/SDP ; charset=utf-8") == "application/sdp"


@pytest.mark.parametrize(
    ("vias", "summary"),
    [
        ([], (None, 0)),
        (["SIP/2.0/UDP h;rport;Branch = z9hG4bK1 "], ("z9hG4bK1", 1)),
        (["SIP/2.0/UDP h1;branch=b1, SIP/2.0/UDP h2;branch=b2", "SIP/2.0/TCP h3"], ("b1", 3)),
        (["SIP/2.0/UDP h1", "SIP/2.0/UDP h2;branch=b2, SIP/2.0/UDP h3"], (None, 3)),
        ([",", "SIP/2.0/UDP h"], (None, 1)),
    ],
)
def test_via_summary(vias: list[str], summary: tuple[str | None, int]) -> None:
    assert via_summary(vias) == summary
