import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.nameaddr import NameAddr, SipParseError, split_header_list
from tests.hypo import examples


def test_quoted_display_with_tag_and_params() -> None:
    a = NameAddr.parse(
        '"Alice \\"A\\" Smith" <sip:alice@Atlanta.Example.com:5070;transport=tcp>;tag=1928;Expires=60;q="0.7";+sip.instance="<urn:uuid:1>"'
    )
    assert a.display == 'Alice "A" Smith'
    assert a.uri == "sip:alice@Atlanta.Example.com:5070;transport=tcp"
    assert (a.scheme, a.user, a.host, a.port) == ("sip", "alice", "atlanta.example.com", 5070)
    assert a.tag == "1928"
    assert a.params == {"expires": "60", "q": "0.7", "+sip.instance": "<urn:uuid:1>"}


def test_unquoted_display_and_utf8() -> None:
    a = NameAddr.parse("Иван Петров <sip:1001@10.0.0.1>;tag=x")
    assert (a.display, a.user, a.host, a.port, a.tag) == (
        "Иван Петров",
        "1001",
        "10.0.0.1",
        None,
        "x",
    )


def test_addr_spec_params_are_header_params() -> None:
    a = NameAddr.parse("sip:bob@biloxi.example.com;tag=a6c85cf;user=phone")
    assert a.uri == "sip:bob@biloxi.example.com"
    assert a.tag == "a6c85cf"
    assert a.params == {"user": "phone"}
    assert a.display == ""


def test_uri_params_stay_in_uri() -> None:
    a = NameAddr.parse("<sip:+79171969136;npdi@example.ru;user=phone>")
    assert a.user == "+79171969136;npdi"
    assert a.host == "example.ru"
    assert a.params == {}
    assert a.tag is None


def test_password_escapes_and_uri_headers() -> None:
    a = NameAddr.parse("<sip:j%40s0n:secret@host.example?Subject=x%40y&Replaces=1@2>")
    assert (a.user, a.host, a.port) == ("j@s0n", "host.example", None)


def test_sips_and_ipv6() -> None:
    a = NameAddr.parse("<sips:alice@[2001:DB8::1]:5061>")
    assert (a.scheme, a.host, a.port) == ("sips", "2001:db8::1", 5061)
    a = NameAddr.parse("<sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0>")  # unbracketed, seen in the wild
    assert (a.user, a.host, a.port) == ("9876", "fe80:0:0:0:21a:a0ff:fe07:32e0", None)


def test_sip_uri_without_user() -> None:
    a = NameAddr.parse("<sip:registrar.example.com>")
    assert (a.user, a.host) == ("", "registrar.example.com")


def test_tel_uri() -> None:
    a = NameAddr.parse("<tel:+1-201-555-0123;phone-context=+1>;tag=9")
    assert (a.scheme, a.user, a.host, a.port, a.tag) == ("tel", "+1-201-555-0123", "", None, "9")


def test_other_scheme() -> None:
    a = NameAddr.parse("<urn:service:sos>")
    assert (a.scheme, a.user, a.host) == ("urn", "", "")
    a = NameAddr.parse("<IM:Fred@Example.com>")
    assert (a.scheme, a.user, a.host) == ("im", "Fred", "example.com")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty name-addr"),
        ("   ", "empty name-addr"),
        ('"Bob <sip:b@h>', "unterminated quoted display name: '\"Bob <sip:b@h>'"),
        ('"Bob\\" <sip:b@h>', "unterminated quoted display name: '\"Bob\\\\\" <sip:b@h>'"),
        ('"Bob" sip:b@h', "missing '<' after display name: '\"Bob\" sip:b@h'"),
        ("Bob <sip:b@h", "missing '>' in name-addr: 'Bob <sip:b@h'"),
        ("<b@h>", "bad URI: 'b@h'"),
        ("<:b@h>", "bad URI: ':b@h'"),
        ("Bob sip:b@h", "bad URI: 'Bob sip:b@h'"),
        ("<sip:b@>", "bad URI: 'sip:b@'"),
        ("<sip:b@[::1>", "bad URI: 'sip:b@[::1'"),
        ("<sip:b@h:65536>", "bad port in URI: 'sip:b@h:65536'"),
        ("<sip:b@h:5o6o>", "bad port in URI: 'sip:b@h:5o6o'"),
        ("<sip:b@[::1]:>", "bad port in URI: 'sip:b@[::1]:'"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(SipParseError) as exc:
        NameAddr.parse(text)
    assert str(exc.value) == message


def test_to_text_round_trip() -> None:
    for text in (
        '"A \\"q\\" \\\\ b" <sip:a@h:5060;lr>;tag=1;expires=30;lr',
        "<tel:+123>",
        "sip:x@y;tag=z",
    ):
        a = NameAddr.parse(text)
        assert NameAddr.parse(a.to_text()) == a


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("", []),
        (" a ", ["a"]),
        ("a, b ,c", ["a", "b", "c"]),
        ('"Doe, John" <sip:j@h>, <sip:k@h;x=a,b>', ['"Doe, John" <sip:j@h>', "<sip:k@h;x=a,b>"]),
        ('"a\\", b" <sip:x@y>, c', ['"a\\", b" <sip:x@y>', "c"]),
        ("a,,b,", ["a", "b"]),
        (
            "SIP/2.0/UDP h1;branch=1, SIP/2.0/TCP h2;branch=2",
            ["SIP/2.0/UDP h1;branch=1", "SIP/2.0/TCP h2;branch=2"],
        ),
    ],
)
def test_split_header_list(value: str, items: list[str]) -> None:
    assert split_header_list(value) == items


@settings(max_examples=examples(400))
@given(st.text(max_size=120))
def test_arbitrary_text_raises_only_sip_parse_error(text: str) -> None:
    try:
        NameAddr.parse(text)
    except SipParseError:
        pass
    split_header_list(text)


@settings(max_examples=examples(300))
@given(st.text(alphabet='<>"\\;:@[]=, sip.tel%0123456789abcAB', max_size=60))
def test_structured_text_raises_only_sip_parse_error(text: str) -> None:
    try:
        a = NameAddr.parse(text)
    except SipParseError:
        return
    assert a.host == a.host.lower()
    assert a.port is None or 0 <= a.port <= 65535


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=10)


@settings(max_examples=examples(300))
@given(
    display=st.text(max_size=20).filter(lambda s: s == s.strip() and "\r" not in s),
    user=_WORD,
    host=_WORD,
    port=st.one_of(st.none(), st.integers(0, 65535)),
    tag=st.one_of(st.none(), _WORD),
    params=st.dictionaries(_WORD.filter(lambda k: k != "tag"), _WORD, max_size=3),
)
def test_generated_round_trip(
    display: str, user: str, host: str, port: int | None, tag: str | None, params: dict[str, str]
) -> None:
    uri = f"sip:{user}@{host}" + (f":{port}" if port is not None else "")
    a = NameAddr(display, uri, "sip", user, host, port, tag, params)
    assert NameAddr.parse(a.to_text()) == a
