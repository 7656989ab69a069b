"""SIP dispatch: one parsed message goes to the call tracker, the REGISTER or MESSAGE tracker,
or the per-peer counters; finished records go to the sink."""

from __future__ import annotations

from collections.abc import Callable

from db.records import Record
from db.settings import MAX_REGISTRATIONS
from sniffer.calls.call import Call
from sniffer.calls.messages import MessageTracker
from sniffer.calls.peers import PeerCounters
from sniffer.calls.registrations import RegistrationTracker
from sniffer.calls.tracker import CallTracker
from sniffer.counters import Counters
from sniffer.faults import FaultGuard
from sniffer.sip.message import SipMessage, SipParseError

Sink = Callable[[Record], None]
Observer = Callable[[Call, SipMessage, float, bytes, bool], None]
"""Told of every SIP message applied to a call: (call, message, ts, source address, whether it
was a retransmission)."""


def _no_observer(call: Call, msg: SipMessage, ts: float, src: bytes, retrans: bool) -> None:
    return None


class Signalling:
    """Everything the sensor does with SIP messages."""

    def __init__(
        self,
        counters: Counters,
        tracker: CallTracker,
        guard: FaultGuard | None = None,
        *,
        max_registrations: int = MAX_REGISTRATIONS,
    ) -> None:
        self.counters = counters
        self.tracker = tracker
        self.guard = guard if guard is not None else FaultGuard(counters)
        self.registrations = RegistrationTracker(counters, max_pending=max_registrations)
        self.messages = MessageTracker(counters)
        self.peers = PeerCounters()
        self.observe: Observer = _no_observer

    def handle(
        self,
        payload: bytes,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        vlan: int | None,
        transport: int,
        sink: Sink,
    ) -> Call | None:
        """Parse and apply one SIP message; return the call it belongs to, if any."""
        c = self.counters.data
        try:
            msg = SipMessage.parse(payload)
        except SipParseError:
            c["sip.parse_error"] = c.get("sip.parse_error", 0) + 1
            return None
        kind = "sip.requests" if msg.is_request else "sip.responses"
        c[kind] = c.get(kind, 0) + 1
        try:
            return self._dispatch(msg, ts, src, sport, dst, dport, vlan, transport, sink)
        except Exception as exc:
            # what the message did up to the error stands; its call (if any) keeps the frame
            what = msg.method[:20] if msg.is_request else f"{msg.status} {msg.method[:20]}"
            self.guard.fault(exc, ts, f"SIP {what} of Call-ID {msg.call_id[:100]!r}")
            return self.tracker.calls.get(msg.call_id)

    def _dispatch(
        self,
        msg: SipMessage,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        vlan: int | None,
        transport: int,
        sink: Sink,
    ) -> Call | None:
        method = msg.method
        if method == "MESSAGE":
            rec = self.messages.on_message(msg, ts, src, dst)
            if rec is not None:
                sink(rec)
            return None
        if self.tracker.wants(msg):
            prior = self.tracker.calls.get(msg.call_id)
            before = prior.retransmissions if prior is not None else 0
            call = self.tracker.on_message(msg, ts, src, sport, dst, dport, vlan, transport)
            if call is not None:
                self.observe(call, msg, ts, src, call.retransmissions != before)
            return call
        if method == "REGISTER":
            reg = self.registrations.on_message(msg, ts, src, sport)
            if reg is not None:
                sink(reg)
        elif msg.is_request:
            self.peers.count(src, method)
        return None

    def reap(self, now: float, sink: Sink) -> None:
        for reg in self.registrations.reap(now):
            sink(reg)
        for m in self.messages.reap(now):
            sink(m)

    def drain(self, sink: Sink) -> None:
        for reg in self.registrations.drain():
            sink(reg)
        for m in self.messages.drain():
            sink(m)
