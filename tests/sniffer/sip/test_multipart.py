import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.message import SipMessage, extract_sdp
from sniffer.sip.multipart import (
    BodyPart,
    MultipartParseError,
    SipParseError,
    boundary_of,
    find_part,
    parse_multipart,
)
from sniffer.sip.sdp import SdpParseError
from tests.hypo import examples

CT = 'multipart/mixed;boundary="unique-boundary-1"'
SDP = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 38060 RTP/AVP 8\r\n"
ISUP = b"\x01\x00\x20\x01\n\x00\x02\r\n\x08--not-a-boundary\x00"
BODY = (
    b"This is the preamble.\r\n"
    b"--unique-boundary-1\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Disposition: session;handling=required\r\n"
    b"\r\n" + SDP + b"\r\n"
    b"--unique-boundary-1  \r\n"
    b"c: application/ISUP;base=itu-t92+;version=itu-t92+\r\n"
    b"Content-Disposition: signal;\r\n handling=required\r\n"
    b"\r\n" + ISUP + b"\r\n"
    b"--unique-boundary-1--\r\n"
    b"epilogue\r\n"
)


def test_parts_crlf() -> None:
    parts = parse_multipart(BODY, CT)
    assert len(parts) == 2
    sdp, isup = parts
    assert sdp.content_type == "application/sdp"
    assert sdp.headers["content-disposition"] == "session;handling=required"
    assert sdp.body == SDP
    assert isup.content_type == "application/isup"
    assert isup.headers["content-disposition"] == "signal; handling=required"
    assert isup.body == ISUP


def test_parts_bare_lf_and_no_close_delimiter() -> None:
    body = b"--b\nContent-Type: application/sdp\n\nv=0\nc=IN IP4 1.2.3.4\n--b\n\nplain text without headers"
    parts = parse_multipart(body, "multipart/mixed; boundary=b")
    assert [p.content_type for p in parts] == ["application/sdp", "text/plain"]
    assert parts[0].body == b"v=0\nc=IN IP4 1.2.3.4"
    assert parts[1].headers == {}
    assert parts[1].body == b"plain text without headers"


def test_part_without_blank_line_and_empty_part() -> None:
    parts = parse_multipart(
        b"--b\r\nContent-Type: text/x\r\n--b\r\n--b--", "multipart/mixed;boundary=b"
    )
    assert parts == [BodyPart({"content-type": "text/x"}, b""), BodyPart({}, b"")]


@pytest.mark.parametrize(
    ("body", "ct", "message"),
    [
        (b"--b\r\n\r\nx", "multipart/mixed", "missing multipart boundary"),
        (b"--b\r\n\r\nx", "multipart/mixed;boundary=", "missing multipart boundary"),
        (b"--b\r\n\r\nx", "multipart/mixed;boundary=" + "b" * 201, "missing multipart boundary"),
        (b"no delimiter here", "multipart/mixed;boundary=b", "multipart boundary not found"),
        (b"x--b\r\n", "multipart/mixed;boundary=b", "multipart boundary not found"),
    ],
)
def test_errors(body: bytes, ct: str, message: str) -> None:
    with pytest.raises(MultipartParseError) as exc:
        parse_multipart(body, ct)
    assert str(exc.value) == message
    assert isinstance(exc.value, SipParseError)


def test_find_part() -> None:
    assert find_part(BODY, CT, "application/isup") == ISUP
    assert find_part(BODY, CT, "application/sdp") == SDP
    assert find_part(BODY, CT, "text/html") is None


def test_boundary_of() -> None:
    assert boundary_of('multipart/mixed; charset=x; Boundary="a;b c"') == "a;b c"


def _sip_i_invite(body: bytes, ct: str) -> bytes:
    return (
        "INVITE sip:9275890000@VMSSM;user=phone SIP/2.0\r\n"
        "From:<sip:9171969136@example.ru;user=phone>;tag=9Ub\r\n"
        "To:<sip:9275890000@VMSSM;user=phone>\r\n"
        "Call-ID:717B2539@0870ffffffff\r\n"
        "CSeq:1 INVITE\r\n"
        f"Content-Type:{ct}\r\n"
        "MIME-Version:1.0\r\n"
        f"Content-Length:{len(body)}\r\n\r\n"
    ).encode() + body


def test_extract_sdp_from_sip_i_invite() -> None:
    msg = SipMessage.parse(_sip_i_invite(BODY, CT))
    sdp = extract_sdp(msg)
    assert sdp is not None
    assert sdp.connection == "10.0.0.1"
    assert sdp.media[0].port == 38060


def test_extract_sdp_nested_multipart() -> None:
    inner = b"--in\r\nContent-Type: application/sdp\r\n\r\n" + SDP + b"\r\n--in--\r\n"
    outer = (
        b"--out\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b'--out\r\nContent-Type: multipart/alternative; boundary="in"\r\n\r\n'
        + inner
        + b"\r\n--out--"
    )
    sdp = extract_sdp(SipMessage.parse(_sip_i_invite(outer, "multipart/mixed;boundary=out")))
    assert sdp is not None and sdp.media[0].port == 38060


def test_extract_sdp_multipart_without_sdp() -> None:
    body = b"--b\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--b--"
    assert extract_sdp(SipMessage.parse(_sip_i_invite(body, "multipart/mixed;boundary=b"))) is None


def test_extract_sdp_bad_multipart_raises_sdp_error() -> None:
    with pytest.raises(SdpParseError) as exc:
        extract_sdp(SipMessage.parse(_sip_i_invite(b"junk", "multipart/mixed")))
    assert str(exc.value) == "bad multipart body: missing multipart boundary"


@settings(max_examples=examples(400))
@given(
    st.binary(max_size=300),
    st.sampled_from(["multipart/mixed;boundary=b", "multipart/x;boundary=--"]),
)
def test_arbitrary_bytes_raise_only_sip_parse_error(data: bytes, ct: str) -> None:
    try:
        parse_multipart(data, ct)
    except SipParseError:
        pass


@settings(max_examples=examples(300))
@given(
    st.lists(
        st.sampled_from(
            [b"--b", b"\r\n", b"\n", b"--", b"Content-Type: application/sdp", b"v=0", b"x"]
        ),
        max_size=25,
    )
)
def test_delimiter_soup_raises_only_sip_parse_error(chunks: list[bytes]) -> None:
    body = b"".join(chunks)
    try:
        parts = parse_multipart(body, "multipart/mixed;boundary=b")
    except SipParseError:
        return
    assert all(len(p.body) <= len(body) for p in parts)


@settings(max_examples=examples(200))
@given(st.text(max_size=80))
def test_arbitrary_content_type_raises_only_sip_parse_error(ct: str) -> None:
    try:
        parse_multipart(BODY, ct)
    except SipParseError:
        pass
