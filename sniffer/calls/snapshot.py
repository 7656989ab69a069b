"""Crash recovery: the state of a call in progress as a JSON-ready dict, and the call rebuilt
from it (docs/CDR.md, "Recovered calls").

Kept: what the CDR takes from SIP (parties, tags, addresses, times, codes, codecs, DTMF, flags,
message counts, the offer/answer state) and the SDP media endpoints with their payload maps, so
RTP after a restart binds to the call and a BYE ends it; whether the call had a pcap. Not kept:
RTP/RTCP statistics (a recovered call's streams start at the restart), the transactions seen
(retransmission memory) and the flows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sniffer.calls.call import MAX_DTMF_EVENTS, MAX_MEDIA_TARGETS, Call, MediaTarget
from sniffer.calls.media import CALLEE, CALLER, PayloadMap, interned
from sniffer.netaddr import ip_to_text, text_to_ip

if TYPE_CHECKING:
    from sniffer.calls.tracker import CallTracker
    from sniffer.counters import Counters
    from sniffer.spool.spool import CallPcapSpool

STATE_VERSION = 1
RECOVERED = "recovered"
"""The flag of a CDR completed from a snapshot after a restart."""

_TEXT = ("caller", "caller_domain", "caller_name", "called", "called_domain")
_OPT_TEXT = ("caller_tag", "caller_ua", "called_ua", "final_reason", "bye_from_tag",
             "pending_offer")  # fmt: skip
_INT = ("initial_cseq", "caller_port", "called_port", "bye_cseq", "sip_messages",
        "retransmissions")  # fmt: skip
_OPT_INT = ("vlan", "final_code", "bye_code")
_OPT_TIME = ("invite_ts", "ringing_ts", "answer_ts", "final_ts", "cancel_ts", "bye_ts",
             "close_at")  # fmt: skip
_BOOL = ("invite_seen", "challenged", "responded")


def call_state(call: Call, last_activity: float) -> dict[str, Any]:
    """The call as JSON-ready values (``last_activity``: its last SIP or RTP packet)."""
    state: dict[str, Any] = {
        "call_id": call.call_id,
        "first_ts": call.first_ts,
        "last_ts": last_activity,
        "caller_ip": ip_to_text(call.caller_ip) if call.caller_ip else "",
        "called_ip": ip_to_text(call.called_ip) if call.called_ip else "",
        "transport": call.transport,
        "codecs": list(call.codecs),
        "dtmf": [[ts, d] for ts, d in call.dtmf_events],
        "flags": sorted(call.flags),
        "pcap": call.pcap is not None,
        "media": [
            [ip_to_text(ip), port, t.side, t.rtcp, _payloads(t.payloads)]
            for (ip, port), t in call.media_targets
        ],
    }
    for name in (*_TEXT, *_OPT_TEXT, *_INT, *_OPT_INT, *_OPT_TIME, *_BOOL):
        state[name] = getattr(call, name)
    return state


def call_state_json(call: Call, last_activity: float) -> str:
    """:func:`call_state` as a JSON object. Only SIP and DTMF change a call's state (RTP only
    its last activity): the text is kept on the call and made again only after they did, so a
    snapshot of many calls costs little more than the calls that changed."""
    key = (call.sip_messages, len(call.dtmf_events))
    cached = call.snapshot_cache
    if cached is None or cached[0] != key:
        state = call_state(call, 0.0)
        del state["last_ts"]
        text = json.dumps(state, separators=(",", ":"))
        cached = call.snapshot_cache = (key, text[:-1])
    return f'{cached[1]},"last_ts":{json.dumps(last_activity)}}}'


def _payloads(p: PayloadMap) -> dict[str, Any]:
    return {
        "encodings": {str(pt): name for pt, name in p.encodings.items()},
        "clocks": {str(pt): rate for pt, rate in p.clocks.items()},
        "events": sorted(p.events),
        "ptime": p.ptime,
        "media": p.media,
    }


def restore_call(
    state: Mapping[str, Any],
) -> tuple[Call, list[tuple[tuple[bytes, int], MediaTarget]]]:
    """The call of ``state`` (flagged ``recovered``) and its media endpoints. Raises
    ``ValueError`` (or ``KeyError``/``TypeError``) for a state this version cannot read."""
    call = Call(_text(state["call_id"]), _time(state["first_ts"]))
    call.last_ts = _time(state["last_ts"])
    for name in _TEXT:
        setattr(call, name, _text(state[name]))
    for name in _OPT_TEXT:
        setattr(call, name, None if state[name] is None else _text(state[name]))
    for name in _INT:
        setattr(call, name, _int(state[name]))
    for name in _OPT_INT:
        setattr(call, name, None if state[name] is None else _int(state[name]))
    for name in _OPT_TIME:
        setattr(call, name, None if state[name] is None else _time(state[name]))
    for name in _BOOL:
        setattr(call, name, bool(state[name]))
    call.caller_ip = _ip(state["caller_ip"])
    call.called_ip = _ip(state["called_ip"])
    call.transport = _text(state["transport"])
    call.codecs = [_text(c) for c in state["codecs"]]
    call.dtmf_events = [(_time(ts), _text(d)) for ts, d in state["dtmf"][:MAX_DTMF_EVENTS]]
    call.flags = {_text(f) for f in state["flags"]} | {RECOVERED}
    if call.pending_offer not in (None, CALLER, CALLEE):
        raise ValueError(f"bad pending_offer {call.pending_offer!r}")
    targets = []
    for ip, port, side, rtcp, payloads in state["media"][:MAX_MEDIA_TARGETS]:
        if side not in (CALLER, CALLEE):
            raise ValueError(f"bad media side {side!r}")
        key = (_ip(ip), _int(port))
        targets.append((key, MediaTarget(call, side, _payload_map(payloads), bool(rtcp))))
    return call, targets


def _payload_map(p: Mapping[str, Any]) -> PayloadMap:
    return interned(
        PayloadMap(
            {_int(pt): _text(name) for pt, name in p["encodings"].items()},
            {_int(pt): _int(rate) for pt, rate in p["clocks"].items()},
            frozenset(_int(pt) for pt in p["events"]),
            None if p["ptime"] is None else _int(p["ptime"]),
            _text(p.get("media", "audio")),
        )
    )


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected text, got {v!r}")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise ValueError(f"expected an integer, got {v!r}")
    return int(v)


def _time(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a time, got {v!r}")
    return float(v)


def _ip(v: Any) -> bytes:
    if v == "":
        return b""
    ip = text_to_ip(_text(v))
    if ip is None:
        raise ValueError(f"not an IP address: {v!r}")
    return ip


def adopt_calls(
    tracker: CallTracker,
    counters: Counters,
    spool: CallPcapSpool | None,
    states: Iterable[Mapping[str, Any]],
) -> int:
    """Give ``tracker`` the calls of a previous process of this sensor (its last snapshot):
    a BYE or RTP for them completes their CDR, flagged ``recovered``. A state that cannot be
    read is counted (``calls.recovery_bad_state``) and skipped. Returns the calls adopted."""
    n = 0
    for state in states:
        try:
            call, targets = restore_call(state)
        except (ValueError, KeyError, TypeError, AttributeError):
            counters.inc("calls.recovery_bad_state")
            continue
        if not tracker.adopt(call, targets):
            counters.inc("calls.recovery_refused")
            continue
        if spool is not None and state.get("pcap"):
            call.pcap = spool.adopt_call(call.call_id, call.first_ts)
        n += 1
    if n:
        counters.inc("calls.recovered", n)
    return n
