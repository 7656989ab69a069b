"""State of one call (an INVITE dialog family sharing a Call-ID) and its CDR."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from db.records import CallRecord, StreamRecord
from sniffer.calls.media import CALLEE, CALLER, CallStream, PayloadMap
from sniffer.calls.state import ENDING, SIP_ENDED, CallState
from sniffer.netaddr import ip_to_text
from sniffer.rtp.codecs import STATIC_PT
from sniffer.rtp.rtcp_tracker import RtcpTracker

if TYPE_CHECKING:
    from sniffer.diagnosis.notes import CallNotes
    from sniffer.sip.sdp import MediaDescription
    from sniffer.spool.spool import CallPcap

MAX_TRANSACTION_KEYS = 512
"""Per-call memory of seen SIP transactions (for retransmission detection)."""
MAX_MEDIA_TARGETS = 128
"""Per call: SDP endpoints kept (two per audio/video line of each SDP); more are counted."""
MAX_STREAMS = 256
"""Per call: RTP streams (SSRCs) kept; packets of further SSRCs are counted only."""
MAX_DTMF_EVENTS = 1024
MAX_CODECS = 32


def call_uid(call_id: str, first_ts: float) -> str:
    """Stable record id: the same call in the same capture always gets the same uid."""
    h = hashlib.blake2b(f"{call_id}\x00{first_ts:.6f}".encode(), digest_size=12)
    return h.hexdigest()


@dataclass(slots=True)
class MediaTarget:
    """An ip:port that one side of a call announced in SDP to receive RTP (or RTCP) on."""

    call: Call
    side: str
    """The side that RECEIVES here (``caller`` or ``callee``)."""
    payloads: PayloadMap
    rtcp: bool = False


class Call:
    """Everything the sensor knows about one call while it is in progress."""

    __slots__ = (
        "answer_ts",
        "bye_code",
        "bye_cseq",
        "bye_from_tag",
        "bye_ts",
        "call_id",
        "called",
        "called_domain",
        "called_ip",
        "called_port",
        "called_ua",
        "caller",
        "caller_domain",
        "caller_ip",
        "caller_name",
        "caller_port",
        "caller_tag",
        "caller_ua",
        "cancel_ts",
        "challenged",
        "close_at",
        "codecs",
        "dtmf_events",
        "final_code",
        "final_reason",
        "final_ts",
        "first_ts",
        "flags",
        "flow_keys",
        "initial_cseq",
        "invite_seen",
        "invite_ts",
        "last_ts",
        "media_targets",
        "notes",
        "offer_media",
        "offer_side",
        "pcap",
        "pending_offer",
        "responded",
        "retransmissions",
        "ringing_ts",
        "rtcp",
        "sip_messages",
        "snapshot_cache",
        "streams",
        "transactions",
        "transport",
        "vlan",
    )

    def __init__(self, call_id: str, ts: float) -> None:
        self.call_id = call_id
        self.first_ts = ts
        self.last_ts = ts
        self.invite_ts: float | None = None
        self.invite_seen = False
        self.initial_cseq = -1
        self.caller = self.caller_domain = self.caller_name = ""
        self.called = self.called_domain = ""
        self.caller_tag: str | None = None
        self.caller_ip = b""
        self.caller_port = 0
        self.called_ip = b""
        self.called_port = 0
        self.caller_ua: str | None = None
        self.called_ua: str | None = None
        self.vlan: int | None = None
        self.transport = "udp"
        self.ringing_ts: float | None = None
        self.responded = False
        """Any response to the initial INVITE was seen (Timer B no longer applies)."""
        self.answer_ts: float | None = None
        self.final_code: int | None = None
        self.final_reason: str | None = None
        self.final_ts: float | None = None
        self.cancel_ts: float | None = None
        self.bye_ts: float | None = None
        self.bye_cseq = -1
        self.bye_from_tag: str | None = None
        self.bye_code: int | None = None
        self.challenged = False
        self.codecs: list[str] = []
        self.dtmf_events: list[tuple[float, str]] = []
        self.sip_messages = 0
        self.retransmissions = 0
        self.flags: set[str] = set()
        self.transactions: set[tuple[object, ...]] = set()
        self.media_targets: list[tuple[tuple[bytes, int], MediaTarget]] = []
        self.pending_offer: str | None = None
        """The side whose SDP offer awaits an answer."""
        self.offer_side: str | None = None
        self.offer_media: list[MediaDescription] | None = None
        """The media lines of the pending SDP offer (by ``offer_side``): its answer is read with
        them (payload types it does not map, codecs never offered); dropped once answered."""
        self.streams: list[CallStream] = []
        self.flow_keys: list[bytes] = []
        self.rtcp = RtcpTracker()
        self.pcap: CallPcap | None = None
        self.close_at: float | None = None
        """Capture time at which the call is complete and may be emitted (end + linger);
        written by :meth:`_close_at` only."""
        self.notes: CallNotes | None = None
        """What the diagnosis learns from the call's SIP (sniffer/diagnosis/notes.py)."""
        self.snapshot_cache: tuple[tuple[int, int], str] | None = None
        """Crash-recovery state as JSON, and the SIP/DTMF counts it was taken at."""

    # -- transitions (the tracker reports what SIP said) ------------------------------------

    def _close_at(self, at: float | None) -> None:
        """The one place that decides when the call closes (None: not before a timeout)."""
        self.close_at = at

    def new_attempt(self, cseq: int) -> None:
        """The INVITE again with a higher CSeq (after a 401/407 challenge, or a retry): the
        previous attempt's final response no longer counts."""
        if self.final_code in (401, 407):
            self.challenged = True
        self.final_code = self.final_reason = self.final_ts = None
        self.initial_cseq = cseq
        self._close_at(None)

    def ringing(self, ts: float) -> None:
        if self.ringing_ts is None:
            self.ringing_ts = ts

    def answer(self, ts: float, code: int, reason: str | None) -> None:
        """A 2xx to the initial INVITE (the first one counts)."""
        if self.answer_ts is None:
            self.answer_ts = ts
            self.final_code, self.final_reason, self.final_ts = code, reason, ts
            self._close_at(None)

    def final_response(self, ts: float, code: int, reason: str | None, wait_s: float) -> None:
        """A final response >= 300 to the initial INVITE: the call fails unless it was
        answered or another final came first (a forked branch, a copy on another leg); it
        closes ``wait_s`` later (a challenged INVITE may be sent again meanwhile)."""
        if self.answer_ts is not None or self.final_code is not None:
            return
        self.final_code, self.final_reason, self.final_ts = code, reason, ts
        self._close_at(ts + wait_s)

    def bye(self, ts: float, cseq: int, from_tag: str | None, linger_s: float) -> None:
        """The first BYE: the call is over, it lingers for late RTP and the BYE's answer."""
        if self.bye_ts is None:
            self.bye_ts = ts
            self.bye_cseq = cseq
            self.bye_from_tag = from_tag
            self._close_at(ts + linger_s)

    def bye_answered(
        self, ts: float, code: int, cseq: int, from_tag: str | None, linger_s: float
    ) -> None:
        """The first final response to a BYE. When the BYE itself was not captured, its
        answer proves it was sent: the call ends there as if the BYE had been seen (at the
        answer's time; the answer's From tag is the BYE sender's), flagged ``bye_not_seen``."""
        if code >= 200 and self.bye_code is None:
            if self.bye_ts is None:
                self.bye(ts, cseq, from_tag, linger_s)
                self.flags.add("bye_not_seen")
            self.bye_code = code
            self._close_at(ts + linger_s)

    def cancel(self, ts: float) -> None:
        """A CANCEL before any answer."""
        if self.cancel_ts is None and self.answer_ts is None:
            self.cancel_ts = ts

    # -- derived -------------------------------------------------------------------------

    @property
    def state(self) -> CallState:
        """The state SIP gave the call (:mod:`sniffer.calls.state`): the one decision the
        CDR and the live view both read. An answer outweighs a CANCEL it crossed; a CANCEL
        or a failure outweigh a BYE without an answer."""
        if self.answer_ts is not None:
            return CallState.COMPLETED if self.bye_ts is not None else CallState.ANSWERED
        if self.cancel_ts is not None:
            return CallState.CANCELLED
        if self.final_code is not None and self.final_code >= 300 and self.final_ts is not None:
            return CallState.FAILED
        if self.bye_ts is not None:
            # a BYE needs a dialog: the call was answered though its 2xx was not captured
            return CallState.COMPLETED
        return CallState.RINGING if self.ringing_ts is not None else CallState.CALLING

    @property
    def live_state(self) -> str:
        """What the live view shows: ``ending`` once SIP ended the call, else its state."""
        state = self.state
        return ENDING if self.ended or state in SIP_ENDED else state.value

    def closing_state(self) -> CallState:
        """The state the call closes with when its close time comes: its SIP end, or
        ``timeout`` when it has none (an answered call whose BYE was not seen)."""
        state = self.state
        return state if state in SIP_ENDED else CallState.TIMEOUT

    @property
    def ended(self) -> bool:
        """A BYE, a CANCEL or a final error was seen (the call only lingers now)."""
        return self.close_at is not None or self.bye_ts is not None or self.cancel_ts is not None

    @property
    def uid(self) -> str:
        return call_uid(self.call_id, self.first_ts)

    def last_packet_ts(self) -> float:
        """Time of the call's last SIP message or RTP packet."""
        last = self.last_ts
        for s in self.streams:
            if s.stats.packets and s.stats.last_ts > last:
                last = s.stats.last_ts
        return last

    def state_and_end(self, closing_reason: str) -> tuple[str, float]:
        """(state, end_ts) as documented in docs/CDR.md: the SIP end's, else
        ``closing_reason`` (timeout, unterminated, shutdown) at the last packet."""
        state = self.state
        if state is CallState.COMPLETED and self.bye_ts is not None:
            return state.value, self.bye_ts
        if state is CallState.CANCELLED and self.cancel_ts is not None:
            return state.value, self.cancel_ts
        if state is CallState.FAILED and self.final_ts is not None:
            return state.value, self.final_ts
        return str(closing_reason), self.last_packet_ts()

    def hangup_by(self) -> str | None:
        if self.bye_ts is None or (self.answer_ts is None and self.final_code is not None):
            return None
        if self.bye_from_tag is not None and self.caller_tag is not None:
            return CALLER if self.bye_from_tag == self.caller_tag else CALLEE
        return None

    def add_dtmf(self, ts: float, digit: str) -> bool:
        """Keep a DTMF digit; False (not kept) past :data:`MAX_DTMF_EVENTS`."""
        if len(self.dtmf_events) >= MAX_DTMF_EVENTS:
            return False
        self.dtmf_events.append((ts, digit))
        return True

    def dtmf(self) -> str:
        return "".join(d for _ts, d in sorted(self.dtmf_events, key=lambda e: e[0]))

    # -- record ----------------------------------------------------------------------------

    def to_record(self, closing_reason: str) -> CallRecord:
        """Build the CDR. ``closing_reason`` is the state used when no SIP end was seen
        (``timeout``, ``unterminated`` or ``shutdown``)."""
        state, end_ts = self.state_and_end(closing_reason)
        invite_ts = self.invite_ts if self.invite_ts is not None else self.first_ts
        end_ts = max(end_ts, invite_ts)
        connect = 0.0
        if self.answer_ts is not None:
            connect = max(0.0, end_ts - self.answer_ts)
        flags = set(self.flags)
        if state == "timeout":
            flags.add("timeout")
        if self.bye_ts is not None and self.bye_code is None:
            flags.add("bye_unanswered")
        pcap = self.pcap.relpath if self.pcap is not None else None
        return CallRecord(
            call_id=self.call_id,
            uid=self.uid,
            caller=self.caller,
            caller_domain=self.caller_domain,
            caller_name=self.caller_name,
            called=self.called,
            called_domain=self.called_domain,
            caller_ip=ip_to_text(self.caller_ip) if self.caller_ip else "",
            caller_port=self.caller_port,
            called_ip=ip_to_text(self.called_ip) if self.called_ip else "",
            called_port=self.called_port,
            vlan=self.vlan,
            invite_ts=round(invite_ts, 6),
            ringing_ts=_r6(self.ringing_ts),
            answer_ts=_r6(self.answer_ts),
            end_ts=round(end_ts, 6),
            duration_s=round(end_ts - invite_ts, 6),
            connect_duration_s=round(connect, 6),
            final_code=self.final_code,
            final_reason=self.final_reason,
            hangup_by=self.hangup_by(),
            state=state,
            codecs=list(self.codecs),
            dtmf=self.dtmf(),
            streams=[self._stream_record(s) for s in self.streams],
            pcap=pcap,
            caller_ua=self.caller_ua,
            called_ua=self.called_ua,
            bye_code=self.bye_code,
            challenged=self.challenged,
            sip_messages=self.sip_messages,
            retransmissions=self.retransmissions,
            transport=self.transport,
            flags=sorted(flags),
        )

    def _stream_record(self, s: CallStream) -> StreamRecord:
        return stream_record(s, self.rtcp)


def _r6(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


def _r3(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def stream_record(s: CallStream, rtcp: RtcpTracker | None) -> StreamRecord:
    """The record of one RTP stream (of a call, or bound to none)."""
    st = s.stats
    pt = st.payload_type
    codec = s.payloads.encoding(pt)
    clock = s.payloads.clocks.get(pt) or STATIC_PT.get(pt, ("", 8000))[1]
    summary = rtcp.summary(s.ssrc, clock) if rtcp is not None else None
    ptime = float(s.payloads.ptime) if s.payloads.ptime else None
    # no voice MOS for video, text or other non-audio streams (SDP media type or encoding)
    mos = st.mos(codec, ptime) if s.payloads.is_audio(pt) else None
    return StreamRecord(
        src_ip=ip_to_text(s.src),
        src_port=s.sport,
        dst_ip=ip_to_text(s.dst),
        dst_port=s.dport,
        ssrc=s.ssrc,
        payload_type=pt,
        codec=codec,
        packets=st.packets,
        lost=st.lost,
        loss_pct=round(st.loss_pct, 3),
        duplicates=st.duplicates,
        out_of_order=st.out_of_order,
        max_delta_ms=_r3(st.max_delta_ms),
        max_jitter_ms=_r3(st.max_jitter_ms),
        mean_jitter_ms=_r3(st.mean_jitter_ms),
        mos=None if mos is None else round(mos, 2),
        rtcp=summary,
        first_ts=round(st.first_ts, 6),
        last_ts=round(st.last_ts, 6),
        direction=s.sender,
        telephone_events=st.event_packets,
        playout_discard_pct=_r3(st.playout_discard_pct),
    )
