"""Adopting the rest of a dialog whose INVITE was seen elsewhere (opt-in, see
:meth:`sniffer.calls.tracker.CallTracker.adopt_mid_dialog`): a mirror receiver that took a
sender over mid-stream sees only in-dialog requests, their answers and the RTP."""

from __future__ import annotations

from sniffer.calls.call import Call
from sniffer.sip.message import SipMessage

NO_INVITE_SEEN = "no_invite_seen"
_METHODS = frozenset({"BYE", "INVITE", "UPDATE", "INFO", "PRACK", "REFER"})
"""In-dialog methods that adopt a dialog; not ACK, which may close a failed INVITE's
transaction rather than belong to a dialog, nor CANCEL (no dialog yet)."""


def adoptable(msg: SipMessage) -> bool:
    """In-dialog call traffic (a To-tag) that may adopt a dialog."""
    return msg.to.tag is not None and msg.method in _METHODS


def adopt_dialog(
    call: Call, msg: SipMessage, addrs: tuple[bytes, int, bytes, int], flag: str
) -> None:
    """Set up ``call`` from the first message seen of its dialog (``addrs``: its source and
    destination ip and port). The parties are as that message names them: From sent the
    request, which may be the callee, so no caller tag is assumed (``hangup_by`` stays
    unknown)."""
    src, sport, dst, dport = addrs
    call.flags.update((flag, NO_INVITE_SEEN))
    call.initial_cseq = 0  # unknown: an INVITE seen now is a re-INVITE
    fr, to = msg.from_, msg.to
    call.caller, call.caller_domain, call.caller_name = fr.user, fr.host, fr.display
    call.called, call.called_domain = to.user, to.host
    if not msg.is_request:
        src, sport, dst, dport = dst, dport, src, sport
    call.caller_ip, call.caller_port, call.called_ip, call.called_port = src, sport, dst, dport
