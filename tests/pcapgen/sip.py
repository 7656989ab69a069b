"""Realistic SIP (RFC 3261) message builders returning ``bytes``.

Every builder takes ``compact`` (short header names ``v f t i m c l k``) and ``lf_only`` (bare
LF line endings instead of CRLF); responses, ACK and CANCEL copy the style of their request.
Branches and tags default to values derived from the Call-ID, so the same arguments always give
the same bytes. ``via`` is the Via sent-by ``host:port`` (default ``<from_host>:5060``).
"""

from collections.abc import Sequence

from tests.pcapgen.sdp import DEFAULT_CODECS, Codec, sdp
from tests.pcapgen.sipcore import (
    ALLOW,
    BRANCH_RE,
    REASONS,
    URI_RE,
    USER_AGENT,
    Header,
    SipText,
    parse,
    render,
    request,
    style,
    summary,
    tag_of,
    token,
)

__all__ = [
    "Header",
    "SipText",
    "ack",
    "bye",
    "cancel",
    "info_dtmf",
    "invite",
    "message",
    "options",
    "parse",
    "register",
    "request",
    "response",
    "summary",
    "tag_of",
    "token",
]


def invite(
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    cseq: int = 1,
    sdp_ip: str | None = None,
    sdp_port: int | None = None,
    codecs: Sequence[Codec] = DEFAULT_CODECS,
    *,
    branch: str | None = None,
    tag: str | None = None,
    to_tag: str | None = None,
    compact: bool = False,
    via: str | None = None,
    lf_only: bool = False,
    direction: str | None = "sendrecv",
    sdp_version: int = 1,
    authorization: bool = False,
    transport: str = "UDP",
) -> bytes:
    """INVITE with an SDP offer (none when ``sdp_ip`` is None: delayed offer). ``to_tag`` makes
    it an in-dialog re-INVITE; ``authorization`` adds a Proxy-Authorization (after a 407)."""
    via = via or f"{from_host}:5060"
    extra: list[Header] = [("Allow", ALLOW), ("Supported", "replaces, timer")]
    if authorization:
        nonce, resp = token(call_id, "nonce"), token(call_id, "resp", n=32)
        extra.append(
            (
                "Proxy-Authorization",
                f'Digest username="{from_user}", realm="{to_host}", nonce="{nonce}", '
                f'uri="sip:{to_user}@{to_host}", response="{resp}", algorithm=MD5',
            )
        )
    body = b""
    if sdp_ip is not None and sdp_port is not None:
        sid = int(token(call_id, from_user, n=7), 16)
        body = sdp(
            sdp_ip, sdp_port, codecs, session_id=sid, version=sdp_version, direction=direction,
            lf_only=lf_only,
        )  # fmt: skip
    return request(
        "INVITE",
        f"sip:{to_user}@{to_host}",
        call_id=call_id,
        from_uri=f"sip:{from_user}@{from_host}",
        from_tag=tag or token(call_id, "from-tag"),
        to_uri=f"sip:{to_user}@{to_host}",
        to_tag=to_tag,
        cseq=cseq,
        via=via,
        branch=branch,
        contact=f"<sip:{from_user}@{via}>",
        body=body,
        extra_headers=extra,
        compact=compact,
        lf_only=lf_only,
        transport=transport,
    )


def response(
    request: bytes,
    code: int,
    reason: str | None = None,
    to_tag: str | None = None,
    sdp: bytes | None = None,
    *,
    contact: str | None = None,
    extra_headers: Sequence[Header] = (),
) -> bytes:
    """Response to ``request``: Via/Record-Route/From/To/Call-ID/CSeq copied, ``to_tag``
    (default derived from the Call-ID) added to a To without a tag, except on 100 Trying.
    401/407 carry a digest challenge; ``sdp`` is an SDP body (see :func:`tests.pcapgen.sdp.sdp`)."""
    req = parse(request)
    compact, lf_only = style(request)
    headers: list[Header] = [(n, v) for n, v in req.headers if n in ("Via", "Record-Route")]
    to = req.get("To") or ""
    if code != 100 and tag_of(to) is None:
        to += f";tag={to_tag or token(req.get('Call-ID'), 'to-tag')}"
    headers += [
        ("From", req.get("From") or ""),
        ("To", to),
        ("Call-ID", req.get("Call-ID") or ""),
        ("CSeq", req.get("CSeq") or ""),
    ]
    if contact is not None:
        headers.append(("Contact", contact))
    if code in (401, 407):
        realm = req.start.split()[1].rpartition("@")[2].removeprefix("sip:")
        name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
        nonce = token(req.get("Call-ID"), "nonce")
        headers.append((name, f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5'))
    headers += [("Server", USER_AGENT), *extra_headers]
    body = sdp or b""
    if body:
        headers.append(("Content-Type", "application/sdp"))
    start = f"SIP/2.0 {code} {reason or REASONS.get(code, 'Unknown')}"
    return render(start, headers, body, compact, lf_only)


def ack(request: bytes, response: bytes, *, branch: str | None = None) -> bytes:
    """ACK for an INVITE's final response: same branch and Request-URI for a non-2xx
    (RFC 3261 17.1.1.3), a new branch and the Contact as Request-URI for a 2xx."""
    req, resp = parse(request), parse(response)
    ruri = req.start.split()[1]
    via = req.get("Via") or ""
    call_id = req.get("Call-ID") or ""
    num = (req.get("CSeq") or "1").split()[0]
    if int(resp.start.split()[1]) < 300:
        m = URI_RE.search(resp.get("Contact") or "")
        ruri = m.group(1) if m else ruri
        new = branch or "z9hG4bK" + token(call_id, num, "ACK2xx")
        via = BRANCH_RE.sub(f";branch={new}", via, count=1)
    headers: list[Header] = [
        ("Via", via),
        ("Max-Forwards", "70"),
        ("From", req.get("From") or ""),
        ("To", resp.get("To") or ""),
        ("Call-ID", call_id),
        ("CSeq", f"{num} ACK"),
        ("User-Agent", USER_AGENT),
    ]
    return render(f"ACK {ruri} SIP/2.0", headers, b"", *style(request))


def cancel(request: bytes) -> bytes:
    """CANCEL of a pending INVITE: same Request-URI, top Via (branch), From, To, CSeq number."""
    req = parse(request)
    num = (req.get("CSeq") or "1").split()[0]
    headers: list[Header] = [
        ("Via", req.get("Via") or ""),
        ("Max-Forwards", "70"),
        ("From", req.get("From") or ""),
        ("To", req.get("To") or ""),
        ("Call-ID", req.get("Call-ID") or ""),
        ("CSeq", f"{num} CANCEL"),
        ("User-Agent", USER_AGENT),
    ]
    return render(f"CANCEL {req.start.split()[1]} SIP/2.0", headers, b"", *style(request))


def _in_dialog(
    method: str,
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    cseq: int,
    from_tag: str,
    to_tag: str,
    via: str | None,
    compact: bool,
    lf_only: bool,
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    return request(
        method,
        f"sip:{to_user}@{to_host}",
        call_id=call_id,
        from_uri=f"sip:{from_user}@{from_host}",
        from_tag=from_tag,
        to_uri=f"sip:{to_user}@{to_host}",
        to_tag=to_tag,
        cseq=cseq,
        via=via or f"{from_host}:5060",
        body=body,
        content_type=content_type,
        compact=compact,
        lf_only=lf_only,
    )


def bye(
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    cseq: int,
    from_tag: str,
    to_tag: str,
    *,
    via: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> bytes:
    """BYE within a dialog; ``from_*`` is the side hanging up (the callee swaps the roles)."""
    return _in_dialog(
        "BYE", call_id, from_user, to_user, from_host, to_host, cseq, from_tag, to_tag, via,
        compact, lf_only,
    )  # fmt: skip


def info_dtmf(
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    cseq: int,
    from_tag: str,
    to_tag: str,
    digit: str,
    duration_ms: int = 160,
    *,
    via: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> bytes:
    """INFO carrying one DTMF digit as ``application/dtmf-relay`` (Signal=/Duration=)."""
    eol = "\n" if lf_only else "\r\n"
    body = f"Signal={digit}{eol}Duration={duration_ms}{eol}".encode()
    return _in_dialog(
        "INFO", call_id, from_user, to_user, from_host, to_host, cseq, from_tag, to_tag, via,
        compact, lf_only, body, "application/dtmf-relay",
    )  # fmt: skip


def register(
    user: str,
    domain: str,
    cseq: int = 1,
    expires: int = 3600,
    call_id: str | None = None,
    *,
    contact_host: str,
    via: str | None = None,
    tag: str | None = None,
    authorization: bool = False,
    compact: bool = False,
    lf_only: bool = False,
) -> bytes:
    """REGISTER of ``user@domain`` with Contact at ``contact_host`` (``host:port``) and an
    Expires header (0 = un-REGISTER); ``authorization`` adds credentials (after a 401)."""
    call_id = call_id or token(user, domain, "register", n=16)
    extra: list[Header] = [("Expires", str(expires))]
    if authorization:
        nonce, resp = token(call_id, "nonce"), token(call_id, "resp", n=32)
        extra.append(
            (
                "Authorization",
                f'Digest username="{user}", realm="{domain}", nonce="{nonce}", '
                f'uri="sip:{domain}", response="{resp}", algorithm=MD5',
            )
        )
    return request(
        "REGISTER",
        f"sip:{domain}",
        call_id=call_id,
        from_uri=f"sip:{user}@{domain}",
        from_tag=tag or token(call_id, "from-tag"),
        to_uri=f"sip:{user}@{domain}",
        cseq=cseq,
        via=via or contact_host,
        contact=f"<sip:{user}@{contact_host}>",
        extra_headers=extra,
        compact=compact,
        lf_only=lf_only,
    )


def options(
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    cseq: int = 1,
    *,
    via: str | None = None,
    tag: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> bytes:
    """Out-of-dialog OPTIONS (keep-alive / capability query)."""
    return _in_dialog(
        "OPTIONS", call_id, from_user, to_user, from_host, to_host, cseq,
        tag or token(call_id, "from-tag"), "", via, compact, lf_only,
    )  # fmt: skip


def message(
    call_id: str,
    from_user: str,
    to_user: str,
    from_host: str,
    to_host: str,
    body: str,
    cseq: int = 1,
    *,
    via: str | None = None,
    tag: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> bytes:
    """Out-of-dialog MESSAGE (RFC 3428) with a ``text/plain`` body."""
    return _in_dialog(
        "MESSAGE", call_id, from_user, to_user, from_host, to_host, cseq,
        tag or token(call_id, "from-tag"), "", via, compact, lf_only, body.encode(),
        "text/plain;charset=UTF-8",
    )  # fmt: skip
