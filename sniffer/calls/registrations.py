"""REGISTER tracking: one record per registration attempt of an AOR.

* A REGISTER answered 401/407 and re-sent with credentials (same Call-ID, higher CSeq) is one
  attempt; its record carries the final code of the re-sent REGISTER and ``challenged: true``.
* A REGISTER with the CSeq and top Via branch of the current one is a retransmission; with the
  same CSeq from another source:port, a proxy relaying it on another leg: both are ignored, and
  responses on either leg count. (Scanners re-use a CSeq with a new branch from the same
  source: that is a new try.)
* A challenge never followed up, a REGISTER never answered, are emitted when they time out
  (or at the end of the capture) with the code seen (401/407) or none.
* An un-REGISTER is a record with ``expires: 0``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from db.records import RegistrationRecord
from db.settings import MAX_REGISTRATIONS
from sniffer.counters import Counters
from sniffer.netaddr import ip_to_text, text_to_ip
from sniffer.sip.message import SipMessage

REGISTER_TIMEOUT_S = 32.0
"""64*T1: how long an unanswered REGISTER waits."""
CHALLENGE_WAIT_S = 90.0
"""How long a 401/407 waits for the REGISTER re-sent with credentials."""
PRESSURE_AT = 0.8
"""Above this share of ``max_pending``, a challenge waits :data:`REGISTER_TIMEOUT_S` only."""


@dataclass(slots=True)
class _Attempt:
    call_id: str
    user: str
    domain: str
    contact_ip: str | None
    src: bytes
    sport: int
    ts: float
    user_agent: str | None
    expires: int | None
    cseq: int
    branches: set[str | None]
    """Top Via branches of the current request and its relayed copies."""
    attempts: int = 1
    challenged: bool = False
    code: int | None = None
    """Final code of the current CSeq (None while waiting)."""
    deadline: float = 0.0


def _contact_ip(msg: SipMessage) -> str | None:
    for c in msg.contacts:
        if text_to_ip(c.host) is not None:
            return c.host
    return msg.contacts[0].host if msg.contacts else None


def _expires(msg: SipMessage) -> int | None:
    for c in msg.contacts:
        v = c.params.get("expires")
        if v is not None and v.isdigit():
            return int(v)
    return msg.expires


class RegistrationTracker:
    """Pending REGISTER attempts by Call-ID."""

    def __init__(self, counters: Counters, *, max_pending: int = MAX_REGISTRATIONS) -> None:
        self.counters = counters
        self.max_pending = max_pending
        """Attempts tracked at most: beyond, new ones are refused (``register.table_full``)."""
        self.pressure_at = int(max_pending * PRESSURE_AT)
        self.pending: dict[str, _Attempt] = {}

    def on_message(
        self, msg: SipMessage, ts: float, src: bytes, sport: int
    ) -> RegistrationRecord | None:
        """Apply a REGISTER request or response; return a record when an attempt completes."""
        att = self.pending.get(msg.call_id)
        if msg.is_request:
            return self._on_request(att, msg, ts, src, sport)
        if (
            att is None
            or msg.cseq_num != att.cseq
            or att.code is not None
            or msg.via_branch not in att.branches
        ):
            if att is None:
                self.counters.inc("register.orphan_response")
            return None
        code = msg.status
        if code < 200:
            return None
        att.code = code
        if code in (401, 407):
            att.deadline = ts + CHALLENGE_WAIT_S
            return None
        if 200 <= code < 300:
            exp = _expires(msg)
            if exp is not None:
                att.expires = exp
        del self.pending[msg.call_id]
        return self._record(att, ts)

    def _on_request(
        self, att: _Attempt | None, msg: SipMessage, ts: float, src: bytes, sport: int
    ) -> RegistrationRecord | None:
        done: RegistrationRecord | None = None
        if att is not None:
            if msg.cseq_num < att.cseq:
                return None  # a late copy of an older transaction
            if msg.cseq_num == att.cseq:
                if msg.via_branch in att.branches:
                    return None  # retransmission
                if (src, sport) != (att.src, att.sport):
                    att.branches.add(msg.via_branch)  # a copy relayed on another leg
                    return None
            if att.code in (401, 407):
                att.challenged = True
                att.attempts += 1
                att.cseq = msg.cseq_num
                att.branches = {msg.via_branch}
                att.src, att.sport = src, sport
                att.code = None
                att.deadline = ts + REGISTER_TIMEOUT_S
                att.expires = _expires(msg)
                return None
            # the previous REGISTER was never answered: report it, start afresh
            done = self._record(att, att.ts)
        if len(self.pending) >= self.max_pending:
            self.counters.inc("register.table_full")
            return done
        to = msg.to
        self.pending[msg.call_id] = _Attempt(
            call_id=msg.call_id,
            user=to.user,
            domain=to.host,
            contact_ip=_contact_ip(msg),
            src=src,
            sport=sport,
            ts=ts,
            user_agent=msg.user_agent,
            expires=_expires(msg),
            cseq=msg.cseq_num,
            branches={msg.via_branch},
            deadline=ts + REGISTER_TIMEOUT_S,
        )
        return done

    def _record(self, att: _Attempt, ts: float) -> RegistrationRecord:
        return RegistrationRecord(
            user=att.user,
            domain=att.domain,
            contact_ip=att.contact_ip,
            src_ip=ip_to_text(att.src),
            ts=round(ts, 6),
            result_code=att.code,
            expires=att.expires if att.code is not None and 200 <= att.code < 300 else None,
            challenged=att.challenged,
            call_id=att.call_id,
            src_port=att.sport,
            user_agent=att.user_agent,
            attempts=att.attempts,
        )

    def reap(self, now: float) -> Iterator[RegistrationRecord]:
        """Attempts past their deadline; under pressure (more than ``PRESSURE_AT`` of
        ``max_pending``), challenges wait 32 s instead of 90 s (``register.pressure_timeout``)."""
        expired = [a for a in self.pending.values() if now >= a.deadline]
        if len(self.pending) > self.pressure_at:
            early = CHALLENGE_WAIT_S - REGISTER_TIMEOUT_S
            hurried = [
                a
                for a in self.pending.values()
                if a.code in (401, 407) and a.deadline - early <= now < a.deadline
            ]
            self.counters.inc("register.pressure_timeout", len(hurried))
            expired += hurried
        for att in expired:
            del self.pending[att.call_id]
            yield self._record(att, att.ts)

    def drain(self) -> Iterator[RegistrationRecord]:
        for att in list(self.pending.values()):
            yield self._record(att, att.ts)
        self.pending.clear()
