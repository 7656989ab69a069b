import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.dtmf_info import info_dtmf_digit
from sniffer.sip.message import SipMessage
from tests.hypo import examples


def info(body: bytes, ct: str = "application/dtmf-relay", method: str = "INFO") -> SipMessage:
    head = (
        f"{method} sip:1001@10.0.0.1:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1\r\n"
        "From: <sip:2002@10.0.0.2>;tag=a\r\n"
        "To: <sip:1001@10.0.0.1>;tag=b\r\n"
        "Call-ID: dtmf-1\r\n"
        f"CSeq: 3 {method}\r\n"
        f"Content-Type: {ct}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return SipMessage.parse(head.encode() + body)


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        (b"Signal=5\r\nDuration=160\r\n", "5"),
        (b"Signal=*\r\nDuration=250", "*"),
        (b"Signal=#\nDuration=250\n", "#"),
        (b"signal = d\r\n", "D"),
        (b"Duration=100\r\nSignal= 10\r\n", "*"),
        (b"Signal=11\r\nDuration=100", "#"),
        (b"Signal=12", "A"),
        (b"Signal=16\r\n", None),
        (b"Signal=55\r\n", None),
        (b"Duration=160\r\n", None),
        (b"garbage", None),
    ],
)
def test_dtmf_relay(body: bytes, digit: str | None) -> None:
    assert info_dtmf_digit(info(body)) == digit


@pytest.mark.parametrize(
    ("body", "digit"), [(b"5", "5"), (b" 0\r\n", "0"), (b"11", "#"), (b"x", None)]
)
def test_application_dtmf(body: bytes, digit: str | None) -> None:
    assert info_dtmf_digit(info(body, "application/dtmf")) == digit


def test_content_type_params_and_case() -> None:
    assert info_dtmf_digit(info(b"Signal=7", "Application/DTMF-Relay; charset=utf-8")) == "7"


def test_not_info_or_other_body() -> None:
    assert info_dtmf_digit(info(b"Signal=5", method="MESSAGE")) is None
    assert info_dtmf_digit(info(b"Signal=5", "text/plain")) is None
    assert info_dtmf_digit(info(b"")) is None
    assert info_dtmf_digit(info(b"Signal=5\r\n" + b" " * 600)) is None
    response = SipMessage.parse(
        b"SIP/2.0 200 OK\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: x\r\n"
        b"CSeq: 3 INFO\r\nContent-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n5"
    )
    assert info_dtmf_digit(response) is None


@settings(max_examples=examples(300))
@given(st.binary(max_size=80), st.sampled_from(["application/dtmf-relay", "application/dtmf"]))
def test_arbitrary_bodies(body: bytes, ct: str) -> None:
    digit = info_dtmf_digit(info(body, ct))
    assert digit is None or digit in "0123456789*#ABCD"
