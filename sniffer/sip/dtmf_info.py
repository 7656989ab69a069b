"""DTMF digits sent in SIP INFO bodies (``application/dtmf-relay`` as sent by Cisco and most
PBXes, ``application/dtmf``), the out-of-band alternative to RFC 4733 events."""

from sniffer.sip.message import SipMessage

DTMF_RELAY = "application/dtmf-relay"
DTMF = "application/dtmf"
DIGITS = frozenset("0123456789*#ABCD")
EVENT_DIGITS = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}
"""RFC 4733 event codes 10..15 written as numbers instead of symbols."""
MAX_BODY = 512


def _digit(text: str) -> str | None:
    value = text.strip().upper()
    if len(value) == 1 and value in DIGITS:
        return value
    return EVENT_DIGITS.get(value)


def info_dtmf_digit(msg: SipMessage) -> str | None:
    """The digit (``0-9 * # A-D``) carried by an INFO request, or None."""
    if not msg.is_request or msg.method != "INFO" or not msg.body or len(msg.body) > MAX_BODY:
        return None
    ct = msg.content_type
    if ct == DTMF_RELAY:
        text = msg.body.decode("utf-8", "replace")
        for line in text.split("\n"):
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "signal":
                return _digit(value)
        return None
    if ct == DTMF:
        return _digit(msg.body.decode("utf-8", "replace"))
    return None
