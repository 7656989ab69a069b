"""IP-level packets of a scenario and the ground truth that comes with them.

Truth field names follow ``db.records`` (``CallRecord``, ``RegistrationRecord``,
``MessageRecord``, ``StreamRecord``) where the meaning is the same, so tests can compare them
directly. Times are capture timestamps (float epoch seconds).
"""

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from tests.pcapgen.stream import RtpExpected

Kind = Literal["sip", "rtp", "rtcp"]


class IpPacket(NamedTuple):
    """One datagram (or, for ``transport="tcp"``, one whole SIP message) before framing."""

    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    transport: str
    """``"udp"`` or ``"tcp"`` (TCP messages are segmented by ``encapsulate``)."""
    payload: bytes
    kind: Kind = "sip"


@dataclass(frozen=True, slots=True)
class Party:
    """A user agent: SIP at ``ip:sip_port``, media at ``media_ip`` (default ``ip``) ``:rtp_port``
    (RTCP on ``rtp_port + 1``)."""

    user: str
    ip: str
    sip_port: int = 5060
    rtp_port: int = 40000
    media_ip: str | None = None
    domain: str | None = None

    @property
    def media(self) -> str:
        return self.media_ip or self.ip

    @property
    def host(self) -> str:
        """Domain of the user's URI (default: the signalling IP, bracketed if IPv6)."""
        if self.domain:
            return self.domain
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    @property
    def sent_by(self) -> str:
        return f"[{self.ip}]:{self.sip_port}" if ":" in self.ip else f"{self.ip}:{self.sip_port}"


@dataclass(frozen=True, slots=True)
class RtcpTruth:
    """RTCP about one stream: SRs sent by its source, report blocks about it by its receiver."""

    sr_count: int
    report_blocks: int
    cumulative_lost: int | None
    """Last cumulative number of packets lost reported by the receiver."""
    fraction_lost_max: float | None
    """Largest fraction lost reported (0..1, 8-bit fixed point as on the wire)."""
    jitter_max_ms: float | None
    """Largest interarrival jitter reported, converted to ms (truncated to timestamp units)."""


@dataclass(frozen=True, slots=True)
class StreamTruth:
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    ssrc: int
    payload_type: int
    codec: str
    direction: Literal["caller", "callee"]
    phase: Literal["early", "main", "after_reinvite"]
    expected: RtpExpected
    rtcp: RtcpTruth | None = None


@dataclass(slots=True)
class CallTruth:
    """What a correct sensor reports for one INVITE dialog.

    ``end_ts`` is the BYE for a completed call, the final response for a failed or cancelled
    one, and the last packet of the call when there is no BYE (``state="unterminated"``; a
    live sensor closes it by timeout instead). ``sip`` lists every SIP message of the call as
    ``(ts, summary)`` with summaries like ``"INVITE"`` / ``"180 INVITE"``.
    """

    call_id: str
    caller: str
    caller_domain: str
    called: str
    called_domain: str
    caller_ip: str
    caller_port: int
    called_ip: str
    called_port: int
    invite_ts: float
    ringing_ts: float | None
    answer_ts: float | None
    end_ts: float
    final_code: int
    final_reason: str
    hangup_by: Literal["caller", "callee"] | None
    state: Literal["completed", "cancelled", "failed", "unterminated"]
    codecs: list[str]
    dtmf: str
    challenged: bool
    retransmissions: int
    bye_code: int | None
    flags: list[str]
    streams: list[StreamTruth]
    sip: list[tuple[float, str]] = field(default_factory=list)
    transport: str = "udp"
    """As built; ``encapsulate(..., "tcp")`` makes it ``"tcp"``."""

    @property
    def sip_messages(self) -> int:
        return len(self.sip)


@dataclass(frozen=True, slots=True)
class RegistrationTruth:
    user: str
    domain: str
    contact_ip: str
    src_ip: str
    src_port: int
    ts: float
    """First REGISTER of the transaction chain."""
    result_ts: float
    result_code: int
    expires: int
    challenged: bool
    attempts: int
    call_id: str


@dataclass(frozen=True, slots=True)
class MessageTruth:
    from_: str
    to: str
    ts: float
    body: str
    result_code: int
    call_id: str
    src_ip: str
    dst_ip: str


@dataclass(frozen=True, slots=True)
class OptionsTruth:
    from_: str
    to: str
    ts: float
    result_code: int
    call_id: str


@dataclass(slots=True)
class Scenario:
    """Time-ordered packets plus the truth of every dialog/transaction they contain."""

    packets: list[IpPacket] = field(default_factory=list)
    calls: list[CallTruth] = field(default_factory=list)
    registrations: list[RegistrationTruth] = field(default_factory=list)
    messages: list[MessageTruth] = field(default_factory=list)
    options: list[OptionsTruth] = field(default_factory=list)

    def sip_count(self) -> int:
        """Number of SIP messages in ``packets``."""
        return sum(1 for p in self.packets if p.kind == "sip")


def merge(*scenarios: Scenario) -> Scenario:
    """One scenario holding all packets (stably sorted by time) and all truths."""
    out = Scenario()
    for s in scenarios:
        out.packets += s.packets
        out.calls += s.calls
        out.registrations += s.registrations
        out.messages += s.messages
        out.options += s.options
    out.packets.sort(key=lambda p: p.ts)
    return out
