import pytest

from sniffer.sip.message import SipMessage, SipParseError, extract_sdp
from sniffer.sip.sdp import SdpParseError

SDP = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844527 IN IP4 192.0.2.10\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 49170 RTP/AVP 8 0 101\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=ptime:20\r\n"
)


def invite(body: bytes = SDP, extra: str = "", length: int | None = None) -> bytes:
    cl = len(body) if length is None else length
    head = (
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
        "Max-Forwards: 70\r\n"
        'To: "Bob" <sip:bob@biloxi.example.com>\r\n'
        'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
        "Content-Type: application/sdp\r\n"
        f"{extra}"
        f"Content-Length: {cl}\r\n\r\n"
    )
    return head.encode() + body


RESPONSE_180 = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP server10.biloxi.example.com;branch=z9hG4bK4b43c2ff8.1\r\n"
    b"Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1,"
    b" SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Server: Bob's phone 1.0\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_request_fields() -> None:
    m = SipMessage.parse(invite())
    assert m.is_request
    assert m.method == "INVITE"
    assert m.uri == "sip:bob@biloxi.example.com"
    assert (m.status, m.reason) == (0, "")
    assert m.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (m.cseq_num, m.cseq_method) == (314159, "INVITE")
    assert (m.from_.display, m.from_.user, m.from_.tag) == ("Alice", "alice", "1928301774")
    assert (m.to.display, m.to.host, m.to.tag) == ("Bob", "biloxi.example.com", None)
    assert m.via_branch == "z9hG4bK776asdhds"
    assert m.via_count == 1
    assert m.max_forwards == 70
    assert m.content_type == "application/sdp"
    assert m.body == SDP
    assert not m.body_truncated
    assert [c.uri for c in m.contacts] == ["sip:alice@pc33.atlanta.example.com"]
    assert m.user_agent is None
    assert m.expires is None


def test_response_fields() -> None:
    m = SipMessage.parse(RESPONSE_180)
    assert not m.is_request
    assert (m.status, m.reason, m.uri) == (180, "Ringing", None)
    assert m.method == "INVITE"  # CSeq method for responses
    assert m.to.tag == "a6c85cf"
    assert m.to.display == "Bob"
    assert m.via_branch == "z9hG4bK4b43c2ff8.1"
    assert m.via_count == 3
    assert m.user_agent == "Bob's phone 1.0"
    assert m.body == b""
    assert m.content_type is None
    assert m.contacts == []


def test_reason_phrase_keeps_spaces_and_may_be_empty() -> None:
    m = SipMessage.parse(RESPONSE_180.replace(b"180 Ringing", b"403 The reason  is nocallee"))
    assert m.reason == "The reason  is nocallee"
    m = SipMessage.parse(RESPONSE_180.replace(b"180 Ringing", b"200"))
    assert (m.status, m.reason) == (200, "")


def test_bare_lf_and_mixed_line_endings() -> None:
    lf = invite().replace(b"\r\n", b"\n")
    m = SipMessage.parse(lf)
    assert m.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert m.body == SDP.replace(b"\r\n", b"\n")
    assert m.body_truncated  # Content-Length counted the CRLFs
    # HEPGEN style: LF header lines, CRLF before the blank line
    mixed = b"OPTIONS sip:x@h SIP/2.0\nCall-ID: c1\nCSeq: 9 OPTIONS\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nContent-Length: 0\r\n\r\n"
    m = SipMessage.parse(mixed)
    assert (m.method, m.call_id, m.header("content-length"), m.body) == ("OPTIONS", "c1", "0", b"")


def test_leading_crlf_is_skipped() -> None:
    m = SipMessage.parse(b"\r\n\r\n" + RESPONSE_180)
    assert m.status == 180


def test_compact_forms_case_and_whitespace() -> None:
    raw = (
        b"BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
        b"f  :  <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
        b"T:<sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        b"i:a84b4c76e66710\r\n"
        b"cseq:   231 bye\r\n"
        b"m: <sip:bob@192.0.2.4>\r\n"
        b"k: timer\r\n"
        b"s: hello\r\n"
        b"o: refer\r\n"
        b"r: <sip:carol@x>\r\n"
        b"b: <sip:bob@x>\r\n"
        b"x: 1800\r\n"
        b"u: talk\r\n"
        b"e: gzip\r\n"
        b"y: abc\r\n"
        b"a: *;audio\r\n"
        b"j: *;video\r\n"
        b"d: no-fork\r\n"
        b"c: text/plain\r\n"
        b"l: 5\r\n\r\nhello, trailing bytes"
    )
    m = SipMessage.parse(raw)
    assert m.method == "BYE"
    assert m.call_id == "a84b4c76e66710"
    assert (m.cseq_num, m.cseq_method) == (231, "BYE")
    assert m.from_.tag == "a6c85cf"
    assert m.to.tag == "1928301774"
    assert m.via_branch == "z9hG4bKnashds10"
    assert m.contacts[0].host == "192.0.2.4"
    assert m.content_type == "text/plain"
    assert m.body == b"hello"
    expected = {
        "supported": "timer",
        "subject": "hello",
        "event": "refer",
        "refer-to": "<sip:carol@x>",
        "referred-by": "<sip:bob@x>",
        "session-expires": "1800",
        "allow-events": "talk",
        "content-encoding": "gzip",
        "identity": "abc",
        "accept-contact": "*;audio",
        "reject-contact": "*;video",
        "request-disposition": "no-fork",
    }
    for name, value in expected.items():
        assert m.headers[name] == [value]
        assert m.header(name.upper()) == value
    assert m.header("i") == m.header("CALL-ID") == "a84b4c76e66710"
    assert not any(len(k) == 1 for k in m.headers)


def test_header_folding() -> None:
    raw = invite(
        extra="Subject: I know you're there,\r\n   pick up the phone\r\n\tand talk to me!\r\n"
    )
    m = SipMessage.parse(raw)
    assert m.header("subject") == "I know you're there, pick up the phone and talk to me!"
    assert m.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    lf = SipMessage.parse(raw.replace(b"\r\n", b"\n"))
    assert lf.header("subject") == m.header("subject")


def test_repeated_headers_in_order() -> None:
    raw = invite(extra="Route: <sip:p1.example.com;lr>\r\nRoute: <sip:p2.example.com;lr>\r\n")
    m = SipMessage.parse(raw)
    assert m.headers["route"] == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert m.header("route") == "<sip:p1.example.com;lr>"
    assert m.header_values("Route") == m.headers["route"]
    assert m.header_values("x-nothing") == []


def test_utf8_display_name_and_replacement() -> None:
    raw = invite().replace(b'"Alice"', '"Алиса Петрова"'.encode())
    assert SipMessage.parse(raw).from_.display == "Алиса Петрова"
    raw = invite().replace(b'"Alice"', b'"\xff\xfeAlice"')
    assert SipMessage.parse(raw).from_.display == "\ufffd\ufffdAlice"


def test_content_length_framing() -> None:
    # shorter than what is there: cut
    m = SipMessage.parse(invite(length=10))
    assert m.body == SDP[:10]
    assert not m.body_truncated
    # larger: keep what is there, flag it
    m = SipMessage.parse(invite(length=len(SDP) + 100))
    assert m.body == SDP
    assert m.body_truncated
    # absent: rest of the datagram
    no_cl = invite().replace(f"Content-Length: {len(SDP)}\r\n".encode(), b"")
    assert SipMessage.parse(no_cl).body == SDP
    # not a number: treated as absent
    bad = invite().replace(f"Content-Length: {len(SDP)}".encode(), b"Content-Length: 1x")
    assert SipMessage.parse(bad).body == SDP
    # no blank line at all: empty body, truncated when a length was announced
    head_only = invite().split(b"\r\n\r\n")[0]
    m = SipMessage.parse(head_only)
    assert (m.body, m.body_truncated) == (b"", True)


def test_contacts_lists_star_and_garbage() -> None:
    raw = invite().replace(
        b"Contact: <sip:alice@pc33.atlanta.example.com>",
        b'Contact: "A, B" <sip:a@h1>;expires=60, sip:b@h2;q=0.5\r\nContact: <sip:x@h:99999>, <sip:c@[2001:db8::1]:5070>',
    )
    m = SipMessage.parse(raw)
    assert [(c.display, c.user, c.host, c.port) for c in m.contacts] == [
        ("A, B", "a", "h1", None),
        ("", "b", "h2", None),
        ("", "c", "2001:db8::1", 5070),
    ]
    assert m.contacts[0].params == {"expires": "60"}
    assert m.contacts[1].params == {"q": "0.5"}
    assert m.contacts is m.contacts  # cached
    star = invite().replace(b"Contact: <sip:alice@pc33.atlanta.example.com>", b"Contact: *")
    assert SipMessage.parse(star).contacts == []


def test_expires_user_agent_and_pai() -> None:
    raw = invite(
        extra=(
            "Expires: 3600\r\nUser-Agent: Yealink T46S\r\nServer: ignored\r\n"
            "P-Asserted-Identity: <sip:bad@>, <tel:+15551234567>\r\n"
        )
    )
    m = SipMessage.parse(raw)
    assert m.expires == 3600
    assert m.user_agent == "Yealink T46S"
    pai = m.asserted_identity
    assert pai is not None
    assert (pai.scheme, pai.user) == ("tel", "+15551234567")
    m = SipMessage.parse(invite(extra="Expires: soon\r\n"))
    assert m.expires is None
    assert m.asserted_identity is None


def test_via_without_branch_and_without_via() -> None:
    raw = invite().replace(b";branch=z9hG4bK776asdhds", b";rport")
    m = SipMessage.parse(raw)
    assert (m.via_branch, m.via_count) == (None, 1)
    raw = invite().replace(
        b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n", b""
    )
    m = SipMessage.parse(raw)
    assert (m.via_branch, m.via_count) == (None, 0)


def test_method_is_upper_cased_and_ack_cseq() -> None:
    raw = invite().replace(
        b"INVITE sip:bob@biloxi.example.com SIP/2.0", b"invite sip:bob@b sip/2.0"
    )
    assert SipMessage.parse(raw).method == "INVITE"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty message"),
        (b"\r\n\r\n", "empty message"),
        (b"xyz", "bad start line: 'xyz'"),
        (b"INVITE sip:a@b\r\n\r\n", "bad start line: 'INVITE sip:a@b'"),
        (b"INVITE sip:a@b HTTP/1.1\r\n", "bad start line: 'INVITE sip:a@b HTTP/1.1'"),
        (b"IN(VITE sip:a@b SIP/2.0\r\n", "bad start line: 'IN(VITE sip:a@b SIP/2.0'"),
        (b"SIP/2.0 99x Bad\r\n", "bad status code: '99x'"),
        (b"SIP/2.0 099 Low\r\n", "bad status code: '099'"),
        (b"SIP/2.0 700 High\r\n", "bad status code: '700'"),
        (b"SIP/2.0 2000 OK\r\n", "bad status code: '2000'"),
        (b"SIP/2.0 \r\n", "bad start line: 'SIP/2.0'"),
        (b"GET " + b"x" * 200 + b"\r\n", "bad start line: 'GET " + "x" * 76 + "...'"),
    ],
)
def test_start_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(SipParseError) as exc:
        SipMessage.parse(data)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n", b"", "missing Call-ID header"),
        (
            b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com",
            b"Call-ID:  ",
            "missing Call-ID header",
        ),
        (
            b'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n',
            b"",
            "missing From header",
        ),
        (b'To: "Bob" <sip:bob@biloxi.example.com>\r\n', b"", "missing To header"),
        (b"CSeq: 314159 INVITE\r\n", b"", "missing CSeq header"),
        (b"CSeq: 314159 INVITE", b"CSeq: abc INVITE", "bad CSeq: 'abc INVITE'"),
        (b"CSeq: 314159 INVITE", b"CSeq: 314159", "bad CSeq: '314159'"),
        (b"CSeq: 314159 INVITE", b"CSeq: 2147483648 INVITE", "bad CSeq: '2147483648 INVITE'"),
        (b"CSeq: 314159 INVITE", b"CSeq: -1 INVITE", "bad CSeq: '-1 INVITE'"),
        (b"CSeq: 314159 INVITE", b"CSeq: 1 INVITE extra", "bad CSeq: '1 INVITE extra'"),
        (
            b'From: "Alice" <sip:alice@atlanta.example.com>',
            b'From: "Alice <sip:alice@atlanta.example.com>',
            "bad From header: unterminated quoted display name: '\"Alice <sip:alice@atlanta.example.com>;tag=1928301774'",
        ),
        (
            b'To: "Bob" <sip:bob@biloxi.example.com>',
            b"To: <sip:bob@biloxi.example.com:99999>",
            "bad To header: bad port in URI: 'sip:bob@biloxi.example.com:99999'",
        ),
    ],
)
def test_header_errors(old: bytes, new: bytes, message: str) -> None:
    raw = invite()
    assert old in raw
    with pytest.raises(SipParseError) as exc:
        SipMessage.parse(raw.replace(old, new))
    assert str(exc.value) == message


def test_to_bytes_round_trip() -> None:
    for raw in (invite(extra="Subject: a,\r\n b\r\n"), RESPONSE_180):
        m = SipMessage.parse(raw)
        again = SipMessage.parse(m.to_bytes())
        for attr in ("is_request", "method", "uri", "status", "reason", "headers", "body"):
            assert getattr(again, attr) == getattr(m, attr)
        assert (again.from_, again.to, again.call_id) == (m.from_, m.to, m.call_id)


def test_repr() -> None:
    assert repr(SipMessage.parse(RESPONSE_180)) == (
        "<SipMessage 180 Ringing call_id='a84b4c76e66710' cseq=314159 INVITE>"
    )


# --- extract_sdp -------------------------------------------------------------------------------


def test_extract_sdp_plain() -> None:
    sdp = extract_sdp(SipMessage.parse(invite()))
    assert sdp is not None
    assert sdp.connection == "192.0.2.10"
    assert sdp.media[0].port == 49170


def test_extract_sdp_absent_or_other_type() -> None:
    assert extract_sdp(SipMessage.parse(RESPONSE_180)) is None
    text = invite(body=b"hello").replace(b"application/sdp", b"text/plain")
    assert extract_sdp(SipMessage.parse(text)) is None


def test_extract_sdp_without_content_type() -> None:
    raw = invite().replace(b"Content-Type: application/sdp\r\n", b"")
    sdp = extract_sdp(SipMessage.parse(raw))
    assert sdp is not None and sdp.media[0].payload_types == [8, 0, 101]


def test_extract_sdp_raises_on_bad_sdp() -> None:
    with pytest.raises(SdpParseError) as exc:
        extract_sdp(SipMessage.parse(invite(body=b"hello world")))
    assert str(exc.value) == "not an SDP body"
