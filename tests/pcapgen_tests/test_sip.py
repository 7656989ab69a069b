"""SIP/SDP builders: framing, header copying, transaction rules, compact and LF forms."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.framing import looks_like_sip, message_length
from tests.hypo import examples
from tests.pcapgen import sip
from tests.pcapgen.sdp import sdp

INV = sip.invite("cid-1@x", "alice", "bob", "a.example", "b.example", 1, "10.0.0.1", 4000,
                 via="10.0.0.1:5060")  # fmt: skip


def complete(msg: bytes) -> None:
    assert looks_like_sip(msg)
    assert message_length(msg) == len(msg)
    p = sip.parse(msg)
    assert int(p.get("Content-Length") or -1) == len(p.body)


def test_invite_is_complete_with_sdp_offer() -> None:
    complete(INV)
    p = sip.parse(INV)
    assert p.start == "INVITE sip:bob@b.example SIP/2.0"
    assert p.get("Content-Type") == "application/sdp"
    assert re.match(r"SIP/2\.0/UDP 10\.0\.0\.1:5060;branch=z9hG4bK\w+;rport$", p.get("Via") or "")
    body = p.body.decode()
    assert "c=IN IP4 10.0.0.1\r\n" in body and "m=audio 4000 RTP/AVP 0 101\r\n" in body
    assert "a=rtpmap:101 telephone-event/8000\r\n" in body and "a=sendrecv\r\n" in body
    assert sip.summary(INV) == "INVITE"


def test_invite_is_deterministic_and_delayed_offer() -> None:
    again = sip.invite("cid-1@x", "alice", "bob", "a.example", "b.example", 1, "10.0.0.1", 4000,
                       via="10.0.0.1:5060")  # fmt: skip
    assert again == INV
    bare = sip.invite("c", "a", "b", "h", "h2")
    complete(bare)
    assert sip.parse(bare).body == b"" and sip.parse(bare).get("Content-Type") is None


def test_compact_and_lf_only() -> None:
    msg = sip.invite("c2", "a", "b", "h", "h2", 1, "10.0.0.1", 4000, compact=True, lf_only=True)
    complete(msg)
    assert b"\r\n" not in msg
    heads = {line.split(":")[0] for line in msg.decode().split("\n\n")[0].split("\n")[1:]}
    assert {"v", "f", "t", "i", "m", "c", "l", "k", "CSeq"} <= heads
    resp = sip.response(msg, 200, sdp=sdp("10.0.0.2", 5000, lf_only=True))
    complete(resp)
    assert b"\r\n" not in resp and b"\ni: c2\n" in resp
    assert b"\r\n" not in sip.ack(msg, resp) and b"\ni: c2\n" in sip.ack(msg, resp)


def test_response_copies_dialog_headers() -> None:
    trying = sip.response(INV, 100)
    ok = sip.response(
        INV, 200, to_tag="tt", sdp=sdp("10.0.0.2", 5000), contact="<sip:bob@10.0.0.2>"
    )
    complete(ok)
    p, q = sip.parse(INV), sip.parse(ok)
    for h in ("Via", "From", "Call-ID", "CSeq"):
        assert q.get(h) == p.get(h)
    assert q.get("To") == (p.get("To") or "") + ";tag=tt"
    assert sip.tag_of(sip.parse(trying).get("To") or "") is None
    assert q.start == "SIP/2.0 200 OK" and sip.summary(ok) == "200 INVITE"
    assert sip.parse(sip.response(INV, 486)).start == "SIP/2.0 486 Busy Here"
    assert sip.parse(sip.response(INV, 499, "Odd")).start == "SIP/2.0 499 Odd"


@pytest.mark.parametrize(
    ("code", "header"), [(401, "WWW-Authenticate"), (407, "Proxy-Authenticate")]
)
def test_challenges(code: int, header: str) -> None:
    value = sip.parse(sip.response(INV, code)).get(header) or ""
    assert value.startswith('Digest realm="b.example", nonce=')


def test_ack_rules() -> None:
    inv_via = sip.parse(INV).get("Via")
    busy = sip.response(INV, 486)
    a1 = sip.parse(sip.ack(INV, busy))
    assert a1.start == "ACK sip:bob@b.example SIP/2.0" and a1.get("Via") == inv_via
    assert a1.get("CSeq") == "1 ACK" and a1.get("To") == sip.parse(busy).get("To")
    ok = sip.response(INV, 200, contact="<sip:bob@10.0.0.2:5070>")
    a2 = sip.parse(sip.ack(INV, ok))
    assert a2.start == "ACK sip:bob@10.0.0.2:5070 SIP/2.0" and a2.get("Via") != inv_via
    complete(sip.ack(INV, ok))


def test_cancel_matches_invite_transaction() -> None:
    c = sip.parse(sip.cancel(INV))
    p = sip.parse(INV)
    assert c.start == "CANCEL sip:bob@b.example SIP/2.0"
    assert c.get("Via") == p.get("Via") and c.get("To") == p.get("To")
    assert c.get("CSeq") == "1 CANCEL"


def test_in_dialog_and_other_requests() -> None:
    bye = sip.bye("cid", "bob", "alice", "b.example", "a.example", 1, "tb", "ta")
    p = sip.parse(bye)
    assert p.start == "BYE sip:alice@a.example SIP/2.0"
    assert (
        p.get("From") == "<sip:bob@b.example>;tag=tb"
        and p.get("To") == "<sip:alice@a.example>;tag=ta"
    )
    info = sip.info_dtmf("cid", "alice", "bob", "a", "b", 3, "ta", "tb", "#", 250)
    complete(info)
    assert sip.parse(info).body == b"Signal=#\r\nDuration=250\r\n"
    assert sip.parse(info).get("Content-Type") == "application/dtmf-relay"
    reg = sip.register(
        "carol", "example.com", 2, 0, "rc", contact_host="10.0.0.3:5060", authorization=True
    )
    q = sip.parse(reg)
    assert q.start == "REGISTER sip:example.com SIP/2.0" and q.get("Expires") == "0"
    assert q.get("Contact") == "<sip:carol@10.0.0.3:5060>" and q.get("Authorization")
    msg = sip.message("mc", "a", "b", "h1", "h2", "héllo")
    complete(msg)
    assert sip.parse(msg).body == "héllo".encode()
    assert sip.summary(sip.options("oc", "a", "b", "h1", "h2")) == "OPTIONS"


def test_parse_requires_header_end() -> None:
    with pytest.raises(ValueError, match="no end of SIP headers"):
        sip.parse(b"INVITE sip:x SIP/2.0\r\nVia: x\r\n")


def test_sdp_ipv6_and_direction() -> None:
    body = sdp(
        "2001:db8::5", 6000, ((8, "PCMA", 8000),), direction="sendonly", rtcp_port=6001
    ).decode()
    assert "c=IN IP6 2001:db8::5\r\n" in body and "a=sendonly\r\n" in body
    assert "a=rtcp:6001\r\n" in body and "m=audio 6000 RTP/AVP 8\r\n" in body


@given(st.binary(max_size=300))
@settings(max_examples=examples(300))
def test_parse_raises_only_value_error(data: bytes) -> None:
    try:
        p = sip.parse(data)
    except ValueError:
        return
    assert isinstance(p.start, str)
