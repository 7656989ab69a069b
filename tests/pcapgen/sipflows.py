"""Non-INVITE scenarios: REGISTER (plain, challenged, refused, un-REGISTER), OPTIONS, MESSAGE."""

from typing import Literal

from tests.pcapgen import sip
from tests.pcapgen.truth import (
    IpPacket,
    MessageTruth,
    OptionsTruth,
    Party,
    RegistrationTruth,
    Scenario,
)

RegisterOutcome = Literal["ok", "challenge", "forbidden", "unregister"]


def _pkt(ts: float, src: Party, dst: Party, msg: bytes) -> IpPacket:
    return IpPacket(round(ts, 6), src.ip, src.sip_port, dst.ip, dst.sip_port, "udp", msg)


def registration(
    client: Party,
    registrar: Party,
    start: float,
    outcome: RegisterOutcome = "challenge",
    *,
    domain: str = "example.com",
    expires: int = 3600,
    call_id: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> Scenario:
    """REGISTER of ``client.user@domain`` to ``registrar``:

    * ``ok``: REGISTER -> 200; ``unregister``: REGISTER Expires 0 -> 200 (truth expires 0);
    * ``challenge``: REGISTER -> 401 -> REGISTER with credentials (CSeq 2) -> 200;
    * ``forbidden``: REGISTER -> 401 -> REGISTER with credentials -> 403.

    Responses come 10 ms after each request, the second REGISTER 20 ms after the 401.
    """
    call_id = call_id or sip.token(client.user, domain, start, "reg", n=16) + "@pcapgen"
    exp = 0 if outcome == "unregister" else expires

    def reg(cseq: int, auth: bool) -> bytes:
        return sip.register(
            client.user, domain, cseq, exp, call_id, contact_host=client.sent_by,
            authorization=auth, compact=compact, lf_only=lf_only,
        )  # fmt: skip

    req = reg(1, False)
    pkts = [_pkt(start, client, registrar, req)]
    t = start + 0.010
    challenged = outcome in ("challenge", "forbidden")
    if challenged:
        pkts.append(_pkt(t, registrar, client, sip.response(req, 401)))
        t += 0.020
        req = reg(2, True)
        pkts.append(_pkt(t, client, registrar, req))
        t += 0.010
    code = 403 if outcome == "forbidden" else 200
    contact = f"<sip:{client.user}@{client.sent_by}>;expires={exp}" if code == 200 else None
    pkts.append(_pkt(t, registrar, client, sip.response(req, code, contact=contact)))
    truth = RegistrationTruth(
        user=client.user,
        domain=domain,
        contact_ip=client.ip,
        src_ip=client.ip,
        src_port=client.sip_port,
        ts=round(start, 6),
        result_ts=round(t, 6),
        result_code=code,
        expires=exp,
        challenged=challenged,
        attempts=2 if challenged else 1,
        call_id=call_id,
    )
    return Scenario(packets=pkts, registrations=[truth])


def options_ping(
    src: Party, dst: Party, start: float, code: int = 200, *, call_id: str | None = None
) -> Scenario:
    """OPTIONS -> ``code`` 10 ms later."""
    call_id = call_id or sip.token(src.user, dst.user, start, "opt", n=16) + "@pcapgen"
    req = sip.options(call_id, src.user, dst.user, src.host, dst.host, via=src.sent_by)
    pkts = [_pkt(start, src, dst, req), _pkt(start + 0.010, dst, src, sip.response(req, code))]
    truth = OptionsTruth(
        f"{src.user}@{src.host}", f"{dst.user}@{dst.host}", round(start, 6), code, call_id
    )
    return Scenario(packets=pkts, options=[truth])


def im_message(
    src: Party,
    dst: Party,
    body: str,
    start: float,
    code: int = 200,
    *,
    call_id: str | None = None,
    compact: bool = False,
    lf_only: bool = False,
) -> Scenario:
    """MESSAGE with a text body -> ``code`` 10 ms later. Truth ``from_``/``to`` are
    ``user@host``."""
    call_id = call_id or sip.token(src.user, dst.user, start, "msg", n=16) + "@pcapgen"
    req = sip.message(
        call_id, src.user, dst.user, src.host, dst.host, body, via=src.sent_by, compact=compact,
        lf_only=lf_only,
    )  # fmt: skip
    pkts = [_pkt(start, src, dst, req), _pkt(start + 0.010, dst, src, sip.response(req, code))]
    truth = MessageTruth(
        from_=f"{src.user}@{src.host}",
        to=f"{dst.user}@{dst.host}",
        ts=round(start, 6),
        body=body,
        result_code=code,
        call_id=call_id,
        src_ip=src.ip,
        dst_ip=dst.ip,
    )
    return Scenario(packets=pkts, messages=[truth])
