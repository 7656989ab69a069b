"""Call tracking by Call-ID: INVITE dialogs, their outcome, and where their media goes.

Rules (docs/CDR.md has the user-facing version):

* A Call-ID becomes a call when an INVITE, or a response to an INVITE, is seen. In-dialog
  requests of an unknown Call-ID (BYE, UPDATE... of a call that began before the capture) are
  counted as ``sip.no_dialog`` and produce no CDR. Opt-in exception
  (:meth:`CallTracker.adopt_mid_dialog`): until a given capture time, the first in-dialog
  request (not an ACK) or response of an unknown Call-ID *adopts* the dialog as a call with a
  given flag (a mirror receiver that took a sender over mid-stream: ``mirror_split``).
* The *initial* INVITE is an INVITE without To-tag. A 401/407 answered by a re-sent initial
  INVITE (higher CSeq, same Call-ID) continues the same call: the final code is the re-sent
  INVITE's and the call is marked ``challenged``. Copies of an INVITE with the same CSeq (a proxy
  relaying it on another leg) are the same transaction.
* Retransmissions (same method, CSeq, status, top Via branch and To-tag) are counted, not re-applied.
* SDP in requests (INVITE/UPDATE) is an offer; in ACK/PRACK an answer; in a response it is an
  answer when its request carried an offer, else (late offer) an offer. Codecs come from answers,
  read with the offer: a payload type the answer does not map keeps the offer's mapping, and a
  codec the offer never offered is not agreed.
* Every SDP registers the sender's receive endpoints (audio/video ``c=`` ip and ``m=`` port, and
  its RTCP port) so RTP in both directions binds to the call, whatever IP signalling used.
* ``hold`` and ``media_changed`` are judged on renegotiations only (a re-INVITE, an UPDATE after
  the answer, and their answers), never on the initial offer/answer: hold = sendonly, inactive
  or a zero address; media change = a side announces a new address/port, or an answer agrees a
  codec not agreed before (an answer that only narrows the list is not a change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from db.settings import MAX_CALLS
from sniffer.calls.adopt import adopt_dialog, adoptable
from sniffer.calls.call import (
    MAX_CODECS,
    MAX_MEDIA_TARGETS,
    MAX_TRANSACTION_KEYS,
    Call,
    MediaTarget,
)
from sniffer.calls.media import CALLEE, CALLER, PayloadMap, other_side
from sniffer.calls.negotiation import agreed_codecs, offered_line
from sniffer.calls.state import CallState
from sniffer.counters import Counters
from sniffer.netaddr import text_to_ip
from sniffer.sip.dtmf_info import info_dtmf_digit
from sniffer.sip.message import SipMessage, extract_sdp
from sniffer.sip.sdp import MediaDescription, SdpParseError, SessionDescription

CHALLENGE_WAIT_S = 90.0
"""After a 401/407 to the initial INVITE, how long to wait for the re-sent INVITE. Longer than
64*T1: a softphone may ask its user for the password first (the aaa sample waits 32.4 s)."""
PRESSURE_AT = 0.8
"""Above this share of ``max_calls`` the table is under pressure (see :meth:`CallTracker.reap`)."""
TIMER_B_S = 32.0
"""RFC 3261 Timer B (64*T1): an INVITE without any response is abandoned by its sender then."""

_CALL_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "INFO", "REFER"})
"""Methods that only make sense inside an INVITE dialog (or start one)."""
_TRANSPORTS = {17: "udp", 6: "tcp", 132: "sctp"}


def _ignore(call: Call, endpoint: tuple[bytes, int]) -> None:
    return None


def _ignore_call(call: Call) -> None:
    return None


class CallTracker:
    """Owns the open calls and the SDP media index used to bind RTP to them."""

    def __init__(
        self,
        counters: Counters,
        *,
        linger_s: float = 5.0,
        call_timeout_s: float = 300.0,
        max_calls: int = MAX_CALLS,
    ) -> None:
        self.counters = counters
        self.linger_s = linger_s
        self.call_timeout_s = call_timeout_s
        self.max_calls = max_calls
        """Calls tracked at most: beyond, new calls are refused (``calls.table_full``)."""
        self.pressure_at = int(max_calls * PRESSURE_AT)
        self.calls: dict[str, Call] = {}
        self.media: dict[tuple[bytes, int], MediaTarget] = {}
        self.media_generation = 0
        """Bumped whenever an SDP adds endpoints: cached 'unbound' flows must look again."""
        self.on_endpoint_taken: Callable[[Call, tuple[bytes, int]], None] = _ignore
        """Called when a new call's SDP claims an endpoint of an ended call (set by the
        analyzer, which owns the flows)."""
        self.clock_floor = float("-inf")
        """Set after a bogus jump of the capture clock: inactivity is counted from there."""
        self.adopt_until = float("-inf")
        """Capture time until which in-dialog traffic of an unknown Call-ID becomes a call
        (:meth:`adopt_mid_dialog`); off by default."""
        self.adopt_flag = ""
        self.on_adopted: Callable[[Call], None] = _ignore_call
        """Called with a call adopted mid-dialog (the analyzer gives it the RTP it saw)."""

    def adopt_mid_dialog(self, until: float, flag: str) -> None:
        """Opt in: until capture time ``until``, in-dialog traffic of an unknown Call-ID (the
        rest of dialogs that began where this tracker could not see them) makes a call flagged
        ``flag`` (and ``no_invite_seen``), counted ``calls.adopted``."""
        self.adopt_until, self.adopt_flag = until, flag

    # -- SIP --------------------------------------------------------------------------------

    def wants(self, msg: SipMessage) -> bool:
        """Is this message about a call: of a known one, an INVITE that starts one, or an
        in-dialog request (answer) of a call that began before the capture?"""
        return msg.call_id in self.calls or msg.method in _CALL_METHODS

    def on_message(
        self,
        msg: SipMessage,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        vlan: int | None,
        transport: int,
    ) -> Call | None:
        """Apply one SIP message; return the call it belongs to (None if it starts none)."""
        call = self.calls.get(msg.call_id)
        if call is None:
            if (
                msg.method != "INVITE"
                or msg.status == 100
                or (msg.is_request and msg.to.tag is not None)
            ):
                # in-dialog traffic (a re-INVITE too) of a call that began before the capture,
                # or a bare 100
                if ts > self.adopt_until or not adoptable(msg):
                    self.counters.inc("sip.no_dialog")
                    return None
                call = self._new_call(msg, ts, vlan, transport)
                if call is None:
                    return None
                adopt_dialog(call, msg, (src, sport, dst, dport), self.adopt_flag)
                self.counters.inc("calls.adopted")
                self.on_adopted(call)
            else:
                call = self._new_call(msg, ts, vlan, transport)
                if call is None:
                    return None
                if not msg.is_request and ts <= self.adopt_until:  # its INVITE went elsewhere
                    call.flags.add(self.adopt_flag)
                    self.counters.inc("calls.adopted")
        call.sip_messages += 1
        if ts > call.last_ts:
            call.last_ts = ts
        key = (
            msg.is_request,
            msg.method,
            msg.cseq_num,
            msg.status,
            msg.via_branch,
            msg.to.tag,
        )
        if key in call.transactions:
            call.retransmissions += 1
            self.counters.inc("sip.retransmissions")
            return call
        if len(call.transactions) < MAX_TRANSACTION_KEYS:
            call.transactions.add(key)
        if msg.is_request:
            self._on_request(call, msg, ts, src, sport, dst, dport)
        else:
            self._on_response(call, msg, ts, src, sport, dst, dport)
        return call

    def _new_call(
        self, msg: SipMessage, ts: float, vlan: int | None, transport: int
    ) -> Call | None:
        if len(self.calls) >= self.max_calls:
            self.counters.inc("calls.table_full")
            return None
        call = Call(msg.call_id, ts)
        call.vlan = vlan
        call.transport = _TRANSPORTS.get(transport, str(transport))
        self.calls[msg.call_id] = call
        self.counters.inc("calls.created")
        return call

    def _sender(self, call: Call, msg: SipMessage, src: bytes, sport: int) -> str:
        """Which side sent this message."""
        tag = msg.from_.tag
        if call.caller_tag is not None and tag is not None:
            from_caller = tag == call.caller_tag
        else:
            from_caller = src == call.caller_ip and sport == call.caller_port
        if not msg.is_request:
            from_caller = not from_caller
        return CALLER if from_caller else CALLEE

    def _on_request(
        self, call: Call, msg: SipMessage, ts: float, src: bytes, sport: int, dst: bytes, dport: int
    ) -> None:
        method = msg.method
        if method == "INVITE" and msg.to.tag is None:
            if not call.invite_seen:
                self._setup_from_invite(call, msg, ts, src, sport, dst, dport)
            elif msg.cseq_num > call.initial_cseq:
                call.new_attempt(msg.cseq_num)
            self._sdp(call, msg, CALLER, offer=True, reneg=False)
            return
        sender = self._sender(call, msg, src, sport)
        answered = call.answer_ts is not None
        if method == "INVITE":
            call.flags.add("reinvite")
            self._sdp(call, msg, sender, offer=True, reneg=True)
        elif method == "BYE":
            call.bye(ts, msg.cseq_num, msg.from_.tag, self.linger_s)
        elif method == "CANCEL":
            call.cancel(ts)
        elif method == "ACK":
            self._sdp(call, msg, sender, offer=False, reneg=msg.cseq_num != call.initial_cseq)
        elif method == "PRACK":
            self._sdp(call, msg, sender, offer=False, reneg=answered)
        elif method == "UPDATE":
            self._sdp(call, msg, sender, offer=True, reneg=answered)
        elif method == "INFO":
            digit = info_dtmf_digit(msg)
            if digit is not None:
                if not call.add_dtmf(ts, digit):
                    self.counters.inc("dtmf.too_many")
                call.flags.add("sip_info_dtmf")

    def _setup_from_invite(
        self, call: Call, msg: SipMessage, ts: float, src: bytes, sport: int, dst: bytes, dport: int
    ) -> None:
        call.invite_seen = True
        call.invite_ts = ts
        call.initial_cseq = msg.cseq_num
        fr, to = msg.from_, msg.to
        call.caller, call.caller_domain, call.caller_name = fr.user, fr.host, fr.display
        call.called, call.called_domain = to.user, to.host
        call.caller_tag = fr.tag
        call.caller_ip, call.caller_port = src, sport
        call.called_ip, call.called_port = dst, dport
        call.caller_ua = msg.user_agent
        call.flags.discard("no_invite_seen")

    def _on_response(
        self, call: Call, msg: SipMessage, ts: float, src: bytes, sport: int, dst: bytes, dport: int
    ) -> None:
        code = msg.status
        method = msg.method
        if method == "INVITE":
            call.responded = True
            if not call.invite_seen and call.initial_cseq < 0:
                # A response whose INVITE we never saw: still a call attempt worth a CDR.
                call.flags.add("no_invite_seen")
                call.initial_cseq = msg.cseq_num
                fr, to = msg.from_, msg.to
                call.caller, call.caller_domain, call.caller_name = fr.user, fr.host, fr.display
                call.called, call.called_domain = to.user, to.host
                call.caller_tag = fr.tag
                call.caller_ip, call.caller_port = dst, dport
                call.called_ip, call.called_port = src, sport
            if call.called_ua is None and code > 100:
                call.called_ua = msg.user_agent
            if msg.cseq_num == call.initial_cseq:
                self._initial_invite_response(call, msg, code, ts)
            elif code >= 300:
                call.flags.add("reinvite_rejected")
            if code > 100:
                reneg = msg.cseq_num != call.initial_cseq
                self._sdp(call, msg, self._sender(call, msg, src, sport), offer=False, reneg=reneg)
        elif method == "BYE":
            call.bye_answered(ts, code, msg.cseq_num, msg.from_.tag, self.linger_s)
        elif method in ("UPDATE", "PRACK") and 200 <= code < 300:
            sender = self._sender(call, msg, src, sport)
            self._sdp(call, msg, sender, offer=False, reneg=call.answer_ts is not None)

    def _initial_invite_response(self, call: Call, msg: SipMessage, code: int, ts: float) -> None:
        if code < 200:
            if code in (180, 183):
                call.ringing(ts)
        elif code < 300:
            call.answer(ts, code, msg.reason)
        else:
            wait = CHALLENGE_WAIT_S if code in (401, 407) else self.linger_s
            call.final_response(ts, code, msg.reason, wait)

    # -- SDP --------------------------------------------------------------------------------

    def _sdp(self, call: Call, msg: SipMessage, side: str, *, offer: bool, reneg: bool) -> None:
        """Apply the SDP of ``msg`` sent by ``side``. ``reneg``: it belongs to a renegotiation
        (re-INVITE, UPDATE after the answer), not to the initial offer/answer."""
        try:
            sdp = extract_sdp(msg)
        except SdpParseError:
            self.counters.inc("sdp.parse_error")
            return
        if sdp is None:
            return
        if not msg.is_request and msg.status < 200:
            call.flags.add("early_media")
        if msg.is_request:
            is_answer = not offer
        else:
            # an answer when the other side has an offer outstanding, else a (late) offer
            is_answer = call.pending_offer == other_side(side)
        offer_media = None
        if is_answer and call.offer_side == other_side(side):
            offer_media = call.offer_media
        self._register_media(call, sdp, side, offer_media, reneg)
        if is_answer:
            self._set_codecs(call, sdp, offer_media, reneg)
            call.pending_offer = None
            call.offer_side = call.offer_media = None  # answered: its memory is not kept
        else:
            call.pending_offer = side
            call.offer_side = side
            call.offer_media = sdp.media

    def _register_media(
        self,
        call: Call,
        sdp: SessionDescription,
        side: str,
        offer_media: list[MediaDescription] | None,
        reneg: bool,
    ) -> None:
        had_media = any(t.side == side and not t.rtcp for _k, t in call.media_targets)
        for i, m in enumerate(sdp.media):
            if m.port == 0 or m.media not in ("audio", "video") or not m.connection:
                continue
            ip = text_to_ip(m.connection)
            if ip is None:
                self.counters.inc("sdp.bad_connection_address")
                continue
            if ip in (b"\0\0\0\0", bytes(16)) or m.direction == "inactive":
                if reneg:
                    call.flags.add("hold")
                continue
            if m.direction == "sendonly" and reneg:
                call.flags.add("hold")
            payloads = PayloadMap.from_media(m, offered_line(offer_media, i, m))
            key = (ip, m.port)
            known = self.media.get(key)
            if known is not None and known.call is call and known.side == side:
                known.payloads = known.payloads.merged_with(payloads)
                continue
            if reneg and had_media:
                call.flags.add("media_changed")  # the side moved its media (or added a stream)
            if len(call.media_targets) >= MAX_MEDIA_TARGETS:
                self.counters.inc("sdp.too_many_endpoints")
                continue
            rkey = (ip, m.rtcp_port or m.port + 1)
            for k, t in ((key, MediaTarget(call, side, payloads)),
                         (rkey, MediaTarget(call, side, payloads, rtcp=True))):  # fmt: skip
                prev = self.media.get(k)
                if prev is not None and prev.call is not call and prev.call.ended:
                    # a phone re-uses its RTP port for its next call, which may start while
                    # the previous one lingers: its flows on that endpoint go to the new call
                    self.on_endpoint_taken(prev.call, k)
                self.media[k] = t
                call.media_targets.append((k, t))
            self.media_generation += 1

    def _set_codecs(
        self,
        call: Call,
        sdp: SessionDescription,
        offer_media: list[MediaDescription] | None,
        reneg: bool,
    ) -> None:
        new = [name for name in agreed_codecs(sdp, offer_media) if name not in call.codecs]
        if new and reneg and call.codecs:
            call.flags.add("media_changed")  # a codec not agreed before
        room = MAX_CODECS - len(call.codecs)
        if len(new) > room:
            self.counters.inc("sdp.too_many_codecs")
            new = new[: max(room, 0)]
        call.codecs += new

    def adopt(self, call: Call, targets: list[tuple[tuple[bytes, int], MediaTarget]]) -> bool:
        """Track a call rebuilt from a crash-recovery snapshot, with its SDP endpoints (those
        another call holds already stay that call's). False when it cannot be tracked (its
        Call-ID is taken, the table is full)."""
        if call.call_id in self.calls or len(self.calls) >= self.max_calls:
            return False
        self.calls[call.call_id] = call
        for key, target in targets:
            if key not in self.media:
                self.media[key] = target
            call.media_targets.append((key, target))
        self.media_generation += 1
        return True

    # -- lifetime ---------------------------------------------------------------------------

    def last_activity(self, call: Call) -> float:
        last = max(call.last_ts, self.clock_floor)
        for s in call.streams:
            if s.stats.last_ts > last:
                last = s.stats.last_ts
        return last

    def reap(self, now: float) -> Iterator[tuple[Call, CallState]]:
        """Calls that are complete (ended + linger) or inactive for ``call_timeout_s``.

        Under pressure (more than ``PRESSURE_AT`` of ``max_calls`` tracked), a dialog whose
        INVITE got no response at all is also closed after Timer B (32 s of silence: its
        sender gave up by then), counted ``calls.pressure_timeout``. Only under pressure: a
        capture that misses one direction sees no response to any call.

        Yields (call, the state it closes with: its SIP end, else ``timeout``) and forgets
        each call; the caller builds the record.
        """
        done: list[tuple[Call, CallState]] = []
        pressure = len(self.calls) > self.pressure_at
        timeout = self.call_timeout_s
        for call in self.calls.values():
            if call.close_at is not None and now >= call.close_at:
                done.append((call, call.closing_state()))
                continue
            idle = now - self.last_activity(call)
            if idle >= timeout:
                done.append((call, CallState.TIMEOUT))
            elif pressure and idle >= TIMER_B_S and not call.responded and not call.ended:
                self.counters.inc("calls.pressure_timeout")
                done.append((call, CallState.TIMEOUT))
        for call, reason in done:
            self.forget(call)
            yield call, reason

    def drain(self, reason: str) -> Iterator[tuple[Call, str]]:
        """Every open call (end of capture or shutdown)."""
        for call in list(self.calls.values()):
            self.forget(call)
            yield call, reason

    def forget(self, call: Call) -> None:
        """Release a call and the media endpoints that still point at it."""
        self.calls.pop(call.call_id, None)
        for key, target in call.media_targets:
            if self.media.get(key) is target:
                del self.media[key]
        call.media_targets.clear()
