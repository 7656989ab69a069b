"""INVITE dialog scenarios: :class:`Call` builds the packets of one call and its truth.

Timeline of an answered call (seconds after ``start``; challenge and retransmissions shift
everything after them): INVITE 0 -> 100 +0.010 -> 180/183 +0.050 (ringing_ts) -> 200 after
``ring_s`` (answer_ts) -> ACK +0.015; callee RTP from answer+0.020, caller RTP from
answer+0.030, each ``talk_s`` long (split in two phases around a re-INVITE); BYE 0.050 after
the last RTP packet, its 200 +0.010. RFC 4733 digits sit in the caller's main stream at slots
10, 25, 40...; INFO digits are sent at answer+0.3, +0.7, +1.1...
"""

from dataclasses import dataclass, field
from typing import Literal

from tests.pcapgen import sip
from tests.pcapgen.call_media import MediaOpts, MediaPlan
from tests.pcapgen.sdp import DEFAULT_CODECS, Codec, sdp
from tests.pcapgen.truth import CallTruth, IpPacket, Party, Scenario

Outcome = Literal["answered", "cancelled", "failed"]
ReInvite = Literal["hold", "port", "codec"]

__all__ = ["Call", "MediaOpts", "Outcome", "ReInvite"]

T_TRYING = 0.010
T_RINGING = 0.040
T_ACK = 0.015


def _caller() -> Party:
    return Party("alice", "10.0.0.1", rtp_port=40000)


def _callee() -> Party:
    return Party("bob", "10.0.0.2", rtp_port=50000)


@dataclass
class Call:
    """One INVITE dialog. ``build()`` returns its packets and :class:`CallTruth`.

    ``outcome``: ``answered`` (BYE unless ``bye=False``), ``cancelled`` (CANCEL/200/487/ACK)
    or ``failed`` (``final_code``, then ACK). ``ring_s=0`` skips the 180. ``challenge``: 407
    then a re-sent INVITE (CSeq 2, same Call-ID). ``reinvite``: mid-call re-INVITE from the
    caller putting the callee on hold (sendonly), moving the caller's media port (+100), or
    switching to PCMA. Each media phase uses fresh SSRCs. ``invite_retransmits``: the
    (last) INVITE is re-sent at +0.5, +1.5, +3.5 s... (T1 doubling) before the 100 Trying.
    ``transport="tcp"`` puts SIP/2.0/TCP in Via and makes ``encapsulate`` segment the SIP.
    """

    call_id: str = "a84b4c76e66710@pcapgen"
    caller: Party = field(default_factory=_caller)
    callee: Party = field(default_factory=_callee)
    start: float = 1_700_000_000.0
    outcome: Outcome = "answered"
    final_code: int = 486
    bye: bool = True
    hangup_by: Literal["caller", "callee"] = "caller"
    ring_s: float = 1.0
    talk_s: float = 2.0
    codecs: tuple[Codec, ...] = DEFAULT_CODECS
    challenge: bool = False
    invite_retransmits: int = 0
    early_media: bool = False
    reinvite: ReInvite | None = None
    rtp: bool = True
    rtcp: bool = False
    rtcp_interval_s: float = 1.0
    dtmf: str = ""
    """RFC 4733 digits sent in the caller's main stream."""
    info_dtmf: str = ""
    """Digits sent as SIP INFO (application/dtmf-relay) by the caller."""
    caller_media: MediaOpts = field(default_factory=MediaOpts)
    callee_media: MediaOpts = field(default_factory=MediaOpts)
    compact: bool = False
    lf_only: bool = False
    transport: Literal["udp", "tcp"] = "udp"

    def build(self) -> Scenario:
        """Packets (time-ordered) and the call's truth."""
        return _Builder(self).run()


class _Builder:
    def __init__(self, call: Call) -> None:
        self.c = call
        self.packets: list[IpPacket] = []
        self.log: list[tuple[float, str]] = []
        self.ftag = sip.token(call.call_id, "from-tag")
        self.ttag = sip.token(call.call_id, "to-tag")
        self.caller_cseq = 1
        self.flags: list[str] = []
        self.codecs: list[str] = []

    def send(self, ts: float, src: Party, dst: Party, msg: bytes) -> bytes:
        ts = round(ts, 6)
        t = self.c.transport
        self.packets.append(IpPacket(ts, src.ip, src.sip_port, dst.ip, dst.sip_port, t, msg))
        self.log.append((ts, sip.summary(msg)))
        return msg

    def invite(
        self,
        cseq: int,
        *,
        port: int | None = None,
        codecs: tuple[Codec, ...] | None = None,
        to_tag: str | None = None,
        sdp_version: int = 1,
        direction: str = "sendrecv",
        authorization: bool = False,
    ) -> bytes:
        c, a, b = self.c, self.c.caller, self.c.callee
        return sip.invite(
            c.call_id, a.user, b.user, a.host, b.host, cseq, a.media, port or a.rtp_port,
            codecs or c.codecs, tag=self.ftag, to_tag=to_tag, via=a.sent_by, compact=c.compact,
            lf_only=c.lf_only, direction=direction, sdp_version=sdp_version,
            authorization=authorization, transport=c.transport.upper(),
        )  # fmt: skip

    def answer_sdp(self, codecs: tuple[Codec, ...], version: int, direction: str) -> bytes:
        """SDP answer of the callee; records the negotiated audio codec."""
        name = next(x[1] for x in codecs if x[1].lower() != "telephone-event")
        if name not in self.codecs:
            self.codecs.append(name)
        b = self.c.callee
        sid = int(sip.token(self.c.call_id, b.user, n=7), 16)
        return sdp(
            b.media, b.rtp_port, codecs, session_id=sid, version=version, direction=direction,
            lf_only=self.c.lf_only,
        )  # fmt: skip

    def run(self) -> Scenario:
        c, a, b = self.c, self.c.caller, self.c.callee
        t = c.start
        inv = self.send(t, a, b, self.invite(1))
        if c.challenge:
            r = self.send(t + 0.010, b, a, sip.response(inv, 407))
            self.send(t + 0.012, a, b, sip.ack(inv, r))
            t += 0.030
            self.caller_cseq = 2
            inv = self.send(t, a, b, self.invite(2, authorization=True))
        for k in range(c.invite_retransmits):
            t += 0.5 * 2**k
            self.send(t, a, b, inv)
        t += T_TRYING
        self.send(t, b, a, sip.response(inv, 100))
        contact = f"<sip:{b.user}@{b.sent_by}>"
        media = MediaPlan(c)
        ringing_ts: float | None = None
        t += T_RINGING
        if c.ring_s > 0 or c.early_media:
            ringing_ts = t
            if c.early_media:
                answer = self.answer_sdp(media.answer_codecs, 1, "sendrecv")
                self.send(t, b, a, sip.response(inv, 183, sdp=answer, contact=contact))
                media.early(t + 0.020, c.ring_s - 0.040)
                self.flags.append("early_media")
            else:
                self.send(t, b, a, sip.response(inv, 180, contact=contact))
            t += c.ring_s
        answer_ts: float | None = None
        state: Literal["completed", "cancelled", "failed", "unterminated"]
        hangup_by: Literal["caller", "callee"] | None = None
        bye_code: int | None = None
        if c.outcome == "failed":
            final = self.send(t, b, a, sip.response(inv, c.final_code))
            self.send(t + 0.010, a, b, sip.ack(inv, final))
            end_ts, state = t, "failed"
        elif c.outcome == "cancelled":
            cx = self.send(t, a, b, sip.cancel(inv))
            self.send(t + 0.008, b, a, sip.response(cx, 200))
            final = self.send(t + 0.012, b, a, sip.response(inv, 487))
            self.send(t + 0.020, a, b, sip.ack(inv, final))
            end_ts, state = t + 0.012, "cancelled"
        else:
            answer = self.answer_sdp(media.answer_codecs, 1, "sendrecv")
            final = self.send(t, b, a, sip.response(inv, 200, sdp=answer, contact=contact))
            answer_ts = t
            self.send(t + T_ACK, a, b, sip.ack(inv, final))
            end = self.talk(media, t)
            if c.bye:
                hangup_by, bye_code = c.hangup_by, 200
                self.hangup(end + 0.050)
                end_ts, state = end + 0.050, "completed"
            else:
                end_ts, state = max(end, self.packets[-1].ts), "unterminated"
        self.packets += media.packets
        self.packets.sort(key=lambda p: p.ts)
        reason = sip.parse(final).start.split(" ", 2)[2]
        truth = CallTruth(
            call_id=c.call_id,
            caller=a.user,
            caller_domain=a.host,
            called=b.user,
            called_domain=b.host,
            caller_ip=a.ip,
            caller_port=a.sip_port,
            called_ip=b.ip,
            called_port=b.sip_port,
            invite_ts=c.start,
            ringing_ts=ringing_ts,
            answer_ts=answer_ts,
            end_ts=end_ts,
            final_code=int(sip.parse(final).start.split()[1]),
            final_reason=reason,
            hangup_by=hangup_by,
            state=state,
            codecs=self.codecs,
            dtmf="".join(d for _, d in sorted(media.dtmf_times + self.info_times(answer_ts))),
            challenged=c.challenge,
            retransmissions=c.invite_retransmits,
            bye_code=bye_code,
            flags=self.flags,
            streams=media.truths(),
            sip=sorted(self.log),
            transport=c.transport,
        )
        return Scenario(packets=self.packets, calls=[truth])

    def info_times(self, answer_ts: float | None) -> list[tuple[float, str]]:
        if answer_ts is None:
            return []
        return [(answer_ts + 0.3 + 0.4 * k, d) for k, d in enumerate(self.c.info_dtmf)]

    def talk(self, media: MediaPlan, answer_ts: float) -> float:
        """Media, INFO digits and the re-INVITE; returns the time of the last media packet."""
        c, a, b = self.c, self.c.caller, self.c.callee
        phase1 = c.talk_s / 2 if c.reinvite else c.talk_s
        end = media.main(answer_ts, phase1)
        for ts, digit in self.info_times(answer_ts):
            if ts >= end:
                raise ValueError(f"INFO digits do not fit in a {phase1}s talk phase")
            self.caller_cseq += 1
            info = sip.info_dtmf(
                c.call_id, a.user, b.user, a.host, b.host, self.caller_cseq, self.ftag,
                self.ttag, digit, via=a.sent_by, compact=c.compact, lf_only=c.lf_only,
            )  # fmt: skip
            self.send(ts, a, b, info)
            self.send(ts + 0.010, b, a, sip.response(info, 200))
        if c.info_dtmf:
            self.flags.append("sip_info_dtmf")
        if c.reinvite is None:
            return end
        t = end + 0.010
        self.caller_cseq += 1
        port, codecs, direction, answer_dir = media.reinvite_offer(c.reinvite)
        re = self.send(
            t, a, b,
            self.invite(self.caller_cseq, port=port, codecs=codecs, to_tag=self.ttag,
                        sdp_version=2, direction=direction),
        )  # fmt: skip
        ok = self.answer_sdp(media.answer_codecs_for(codecs), 2, answer_dir)
        contact = f"<sip:{b.user}@{b.sent_by}>"
        final = self.send(t + 0.020, b, a, sip.response(re, 200, sdp=ok, contact=contact))
        self.send(t + 0.030, a, b, sip.ack(re, final))
        self.flags += ["reinvite", "hold" if c.reinvite == "hold" else "media_changed"]
        return media.after_reinvite(t + 0.050, c.talk_s - phase1, c.reinvite)

    def hangup(self, ts: float) -> None:
        c, a, b = self.c, self.c.caller, self.c.callee
        if c.hangup_by == "caller":
            self.caller_cseq += 1
            msg = sip.bye(
                c.call_id, a.user, b.user, a.host, b.host, self.caller_cseq, self.ftag,
                self.ttag, via=a.sent_by, compact=c.compact, lf_only=c.lf_only,
            )  # fmt: skip
            self.send(ts, a, b, msg)
            self.send(ts + 0.010, b, a, sip.response(msg, 200))
        else:
            msg = sip.bye(
                c.call_id, b.user, a.user, b.host, a.host, 1, self.ttag, self.ftag,
                via=b.sent_by, compact=c.compact, lf_only=c.lf_only,
            )  # fmt: skip
            self.send(ts, b, a, msg)
            self.send(ts + 0.010, a, b, sip.response(msg, 200))
