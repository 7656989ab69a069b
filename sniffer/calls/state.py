"""A call's states (docs/CDR.md, ``state``).

While it is open a call is ``calling`` (INVITE seen), ``ringing`` (180/183) or ``answered``
(2xx). SIP ends it as ``completed`` (BYE, or the answer to a BYE that was not captured), ``cancelled`` (CANCEL before an answer) or
``failed`` (a final response >= 300); it then lingers (late RTP, retransmissions, the BYE's
answer) until its close time. A call SIP never ended is closed as ``timeout`` (no packet for
``analysis.call_timeout_s``), ``unterminated`` (the capture ended) or ``shutdown`` (the sensor
stopped). :meth:`sniffer.calls.call.Call.state` is the one place that decides the state; the
CDR and the live view (heartbeat) both read it.
"""

from enum import StrEnum


class CallState(StrEnum):
    CALLING = "calling"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMEOUT = "timeout"
    UNTERMINATED = "unterminated"
    SHUTDOWN = "shutdown"


OPEN = frozenset({CallState.CALLING, CallState.RINGING, CallState.ANSWERED})
"""No SIP end seen."""
SIP_ENDED = frozenset({CallState.COMPLETED, CallState.CANCELLED, CallState.FAILED})
"""Ended by SIP (the call only lingers)."""
CLOSED_WITHOUT_SIP = frozenset({CallState.TIMEOUT, CallState.UNTERMINATED, CallState.SHUTDOWN})
"""How a call without a SIP end is closed."""
ENDING = "ending"
"""The live view's word for a call that SIP ended and that lingers."""
