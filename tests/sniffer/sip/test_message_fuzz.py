"""SipMessage.parse on arbitrary and mutated bytes (only SipParseError, never another
exception) and generated messages that round-trip."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.sip.message import SipMessage, SipParseError, extract_sdp
from sniffer.sip.sdp import SdpParseError
from tests.hypo import examples
from tests.sniffer.sip.test_message import invite


@settings(max_examples=examples(300))
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_sip_parse_error(data: bytes) -> None:
    try:
        m = SipMessage.parse(data)
    except SipParseError:
        return
    m.via_branch, m.contacts, m.content_type, m.expires, m.asserted_identity  # noqa: B018
    try:
        extract_sdp(m)
    except SdpParseError:
        pass


HEADER_LINES = st.sampled_from(["\r\n", "\n"])


@settings(max_examples=examples(300))
@given(
    prefix=st.binary(max_size=30),
    eol=HEADER_LINES,
)
def test_mutated_valid_message_raises_only_sip_parse_error(prefix: bytes, eol: str) -> None:
    raw = invite().replace(b"\r\n", eol.encode())
    for cut in (len(prefix), len(prefix) * 7 % len(raw)):
        data = prefix + raw[cut:]
        try:
            SipMessage.parse(data)
        except SipParseError:
            pass


_TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12)
_NAMES = {
    "call-id": ("Call-ID", "i"),
    "from": ("From", "f"),
    "to": ("To", "t"),
    "cseq": ("CSeq", None),
    "via": ("Via", "v"),
    "contact": ("Contact", "m"),
    "content-length": ("Content-Length", "l"),
}


def _case(name: str, style: int) -> str:
    return (name, name.lower(), name.upper())[style]


@settings(max_examples=examples(250))
@given(
    data=st.data(),
    method=st.sampled_from(["INVITE", "BYE", "REGISTER", "OPTIONS", "MESSAGE", "INFO"]),
    status=st.one_of(st.none(), st.integers(100, 699)),
    call_id=_TOKEN,
    user=_TOKEN,
    host=_TOKEN,
    tag=_TOKEN,
    cseq=st.integers(0, 2**31 - 1),
    branch=_TOKEN,
    body=st.binary(max_size=40),
    eol=HEADER_LINES,
)
def test_generated_messages_round_trip(
    data: st.DataObject,
    method: str,
    status: int | None,
    call_id: str,
    user: str,
    host: str,
    tag: str,
    cseq: int,
    branch: str,
    body: bytes,
    eol: str,
) -> None:
    values = {
        "call-id": call_id,
        "from": f'"{user}" <sip:{user}@{host}>;tag={tag}',
        "to": f"<sip:{host}@{user}:5060>",
        "cseq": f"{cseq} {method}",
        "via": f"SIP/2.0/UDP {host};branch={branch}",
        "contact": f"<sip:{user}@{host}>",
        "content-length": str(len(body)),
    }
    order = data.draw(st.permutations(list(values)))
    lines = [
        f"SIP/2.0 {status} Whatever Reason" if status else f"{method} sip:{user}@{host} SIP/2.0"
    ]
    for key in order:
        long_name, compact = _NAMES[key]
        use_compact = compact is not None and data.draw(st.booleans())
        name = compact if use_compact else _case(long_name, data.draw(st.integers(0, 2)))
        pad = data.draw(st.sampled_from(["", " ", "  "]))
        lines.append(f"{name}{pad}:{pad}{values[key]}")
    raw = (eol.join(lines) + eol + eol).encode() + body + b"trailing"
    m = SipMessage.parse(raw)
    assert m.is_request == (status is None)
    assert m.status == (status or 0)
    assert m.method == method
    assert m.call_id == call_id
    assert (m.cseq_num, m.cseq_method) == (cseq, method)
    assert (m.from_.display, m.from_.user, m.from_.host, m.from_.tag) == (user, user, host, tag)
    assert (m.to.user, m.to.host, m.to.port, m.to.tag) == (host, user, 5060, None)
    assert m.via_branch == branch
    assert [c.user for c in m.contacts] == [user]
    assert m.body == body
    assert list(m.headers) == order
