import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.sdp import RtpMap, SdpParseError, SessionDescription
from tests.hypo import examples

OFFER = b"""v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
a=recvonly
m=audio 49170 RTP/AVP 0 8 97 101
a=rtpmap:97 iLBC/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=fmtp:97 mode=30
a=ptime:30
m=video 51372/2 RTP/AVP 31 32
c=IN IP6 2001:db8::2
a=rtcp:53020 IN IP6 2001:db8::2
a=sendonly
m=audio 0 RTP/AVP 18
m=image 6000 udptl t38
a=T38FaxVersion:0
"""


def test_session_and_media_levels() -> None:
    s = SessionDescription.parse(OFFER.replace(b"\n", b"\r\n"))
    assert (s.origin_session, s.origin_version, s.origin_address) == (
        "2890844526",
        "2890842807",
        "10.47.16.5",
    )
    assert s.connection == "224.2.17.12"
    assert s.direction == "recvonly"
    assert [m.media for m in s.media] == ["audio", "video", "audio", "image"]

    audio, video, disabled, image = s.media
    assert (audio.port, audio.port_count, audio.proto) == (49170, 1, "RTP/AVP")
    assert audio.formats == ["0", "8", "97", "101"]
    assert audio.payload_types == [0, 8, 97, 101]
    assert audio.connection == "224.2.17.12"  # inherited from the session
    assert audio.direction == "recvonly"  # inherited from the session
    assert audio.rtpmap == {
        97: RtpMap("iLBC", 8000, 1),
        101: RtpMap("telephone-event", 8000, 1),
    }
    assert audio.fmtp == {101: "0-15", 97: "mode=30"}
    assert audio.ptime == 30
    assert audio.rtcp_port is None

    assert (video.port, video.port_count) == (51372, 2)
    assert video.connection == "2001:db8::2"
    assert video.direction == "sendonly"
    assert video.rtcp_port == 53020
    assert video.ptime is None

    assert disabled.port == 0
    assert disabled.payload_types == [18]

    assert image.proto == "udptl"
    assert image.formats == ["t38"]
    assert image.payload_types == []


def test_encoding_and_clock_rate_static_and_dynamic() -> None:
    audio = SessionDescription.parse(OFFER).media[0]
    assert audio.encoding(0) == "PCMU"
    assert audio.encoding(8) == "PCMA"
    assert audio.encoding(97) == "iLBC"
    assert audio.encoding(96) is None
    assert audio.encoding(9) == "G722"
    assert audio.clock_rate(9) == 8000  # RFC 3551: G722 RTP clock is 8000
    assert audio.clock_rate(18) == 8000
    assert audio.clock_rate(31) == 90000
    assert audio.clock_rate(101) == 8000
    assert audio.clock_rate(100) is None
    for pt, name in ((3, "GSM"), (4, "G723"), (13, "CN"), (18, "G729"), (34, "H263")):
        assert audio.encoding(pt) == name
    assert audio.encoding(1) == "1016"  # reserved by RFC 3551, named after its past use
    assert audio.encoding(35) is None


def test_rtpmap_overrides_static_and_channels() -> None:
    s = SessionDescription.parse(
        b"c=IN IP4 1.2.3.4\nm=audio 1 RTP/AVP 0 111\na=rtpmap:0 pcmu/8000\na=rtpmap:111 opus/48000/2\n"
    )
    m = s.media[0]
    assert m.encoding(0) == "pcmu"
    assert m.rtpmap[111] == RtpMap("opus", 48000, 2)


def test_hold_address_and_inactive() -> None:
    s = SessionDescription.parse(
        b"v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 0\r\na=inactive\r\n"
    )
    assert s.connection == "0.0.0.0"
    assert s.media[0].connection == "0.0.0.0"
    assert s.media[0].direction == "inactive"
    assert s.direction == "sendrecv"


def test_ipv6_session_connection() -> None:
    s = SessionDescription.parse(b"c=IN IP6 fec0::216:d3ff:fe0d:22c\nm=audio 7078 RTP/AVP 0 101\n")
    assert s.connection == s.media[0].connection == "fec0::216:d3ff:fe0d:22c"


def test_tolerance_missing_v_o_blank_unknown_and_trailing_space() -> None:
    text = b"\n\n  \nhello world\nx=unknown  \nc=IN IP4 10.0.0.1   \n\nm=audio 8000 RTP/AVP 8   \nzzz\na=ptime:20.0\na=sendrecv \n"
    s = SessionDescription.parse(text)
    assert (s.origin_session, s.origin_version, s.origin_address) == ("", "", None)
    m = s.media[0]
    assert (m.connection, m.port, m.payload_types, m.ptime, m.direction) == (
        "10.0.0.1",
        8000,
        [8],
        20,
        "sendrecv",
    )


def test_glued_origin_and_session_ptime() -> None:
    s = SessionDescription.parse(
        b"o=x 1 2 IN IP4 127.0.0.1s=glued\na=ptime:40\nc=IN IP4 1.1.1.1\nm=audio 1 RTP/AVP 0\na=ptime:bogus\n"
    )
    assert s.origin_address == "127.0.0.1s=glued"
    assert s.media[0].ptime == 40  # bad media ptime ignored, session-level one applies


def test_connection_only_body_and_empty_formats() -> None:
    s = SessionDescription.parse(b"v=0\nc=IN IP4 1.2.3.4\n")
    assert (s.connection, s.media) == ("1.2.3.4", [])
    s = SessionDescription.parse(b"m=audio 0 RTP/AVP\n")
    assert s.media[0].formats == [] and s.media[0].connection is None


def test_non_rtp_media_keeps_raw_formats() -> None:
    s = SessionDescription.parse(
        b"c=IN IP4 1.2.3.4\nm=application 9 TCP/MSRP *\nm=audio 5 RTP/SAVPF 96\n"
    )
    assert s.media[0].formats == ["*"] and s.media[0].payload_types == []
    assert s.media[1].payload_types == [96]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not an SDP body"),
        (b"hello world\nthis is text", "not an SDP body"),
        (b"v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n", "not an SDP body"),
        (b"c=IN IP4\n", "bad c= line: 'c=IN IP4'"),
        (b"m=audio 4000\n", "bad m= line: 'm=audio 4000'"),
        (b"m=audio 65536 RTP/AVP 0\n", "bad port in m= line: 'm=audio 65536 RTP/AVP 0'"),
        (b"m=audio -1 RTP/AVP 0\n", "bad port in m= line: 'm=audio -1 RTP/AVP 0'"),
        (b"m=audio 4000/0 RTP/AVP 0\n", "bad port in m= line: 'm=audio 4000/0 RTP/AVP 0'"),
        (b"m=audio 4000 RTP/AVP 0 x\n", "bad payload type in m= line: 'm=audio 4000 RTP/AVP 0 x'"),
        (b"m=audio 4000 RTP/AVP 128\n", "bad payload type in m= line: 'm=audio 4000 RTP/AVP 128'"),
        (b"m=audio 1 RTP/AVP 0\na=rtpmap:x PCMU/8000\n", "bad rtpmap: 'a=rtpmap:x PCMU/8000'"),
        (b"m=audio 1 RTP/AVP 0\na=rtpmap:0 PCMU\n", "bad rtpmap: 'a=rtpmap:0 PCMU'"),
        (b"m=audio 1 RTP/AVP 0\na=rtpmap:0 /8000\n", "bad rtpmap: 'a=rtpmap:0 /8000'"),
        (b"m=audio 1 RTP/AVP 0\na=rtpmap:0 PCMU/8k\n", "bad rtpmap: 'a=rtpmap:0 PCMU/8k'"),
        (b"m=audio 1 RTP/AVP 0\na=rtcp:70000\n", "bad rtcp attribute: 'a=rtcp:70000'"),
        (b"m=audio 1 RTP/AVP 0\na=rtcp:\n", "bad rtcp attribute: 'a=rtcp:'"),
    ],
)
def test_errors(body: bytes, message: str) -> None:
    with pytest.raises(SdpParseError) as exc:
        SessionDescription.parse(body)
    assert str(exc.value) == message


def _render(s: SessionDescription) -> bytes:
    """Serialise the parsed fields back to SDP (for the round trip)."""
    lines = ["v=0", f"o=- {s.origin_session} {s.origin_version} IN IP4 {s.origin_address}", "s=-"]
    if s.connection:
        lines.append(f"c=IN IP4 {s.connection}")
    lines += ["t=0 0", f"a={s.direction}"]
    for m in s.media:
        lines.append(f"m={m.media} {m.port}/{m.port_count} {m.proto} {' '.join(m.formats)}")
        if m.connection != s.connection:
            lines.append(f"c=IN IP6 {m.connection}")
        for pt, r in m.rtpmap.items():
            lines.append(f"a=rtpmap:{pt} {r.encoding}/{r.clock_rate}/{r.channels}")
        lines += [f"a=fmtp:{pt} {f}" for pt, f in m.fmtp.items()]
        if m.ptime is not None:
            lines.append(f"a=ptime:{m.ptime}")
        if m.rtcp_port is not None:
            lines.append(f"a=rtcp:{m.rtcp_port}")
        lines.append(f"a={m.direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_round_trip() -> None:
    s = SessionDescription.parse(OFFER)
    assert SessionDescription.parse(_render(s)) == s


@settings(max_examples=examples(400))
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_sdp_parse_error(data: bytes) -> None:
    try:
        SessionDescription.parse(data)
    except SdpParseError:
        pass


_LINE = st.one_of(
    st.sampled_from(
        ["c=IN IP4 1.2.3.4", "m=audio 4000 RTP/AVP 0 8", "a=sendonly", "o=- 1 2 IN IP4 x"]
    ),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from("vocmat"),
        st.text(alphabet="0123456789 /:.-=rtpmaRTP/AVPfmtpcsendrecvinactiveIN IP4", max_size=30),
    ),
)


@settings(max_examples=examples(400))
@given(st.lists(_LINE, max_size=12))
def test_sdp_like_lines_raise_only_sdp_parse_error(lines: list[str]) -> None:
    try:
        s = SessionDescription.parse("\n".join(lines).encode())
    except SdpParseError:
        return
    for m in s.media:
        assert 0 <= m.port <= 65535
        assert all(0 <= pt <= 127 for pt in m.payload_types)
        assert m.direction in ("sendrecv", "sendonly", "recvonly", "inactive")
