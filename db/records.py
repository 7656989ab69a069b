"""The record contract: what a sensor produces, ``callsift analyze --json`` prints, the database
stores and the API serves (docs/CDR.md). Every record serialises to a flat JSON object with a
``type`` (:func:`record_to_dict`) and back (:func:`record_from_dict`).

Imported by the sensor, the database layer, the API and the GUI alike: it imports nothing of
theirs.
"""

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

PROBLEM_CODES = (
    "no_rtp",
    "one_way_audio",
    "silent_audio",
    "nat_mismatch",
    "late_media",
    "media_timeout",
    "rtp_after_bye",
    "codec_mismatch",
    "poor_quality",
    "high_pdd",
    "sip_retransmissions",
    "no_ack",
    "bye_unanswered",
    "capture_loss",
)
"""The codes a call's ``problems`` may carry (docs/DIAGNOSIS.md)."""

CALL_STATES = ("completed", "cancelled", "failed", "timeout", "unterminated", "shutdown")
"""How a call record ended: BYE after answer; CANCEL; final error response; closed by the
inactivity timeout; still open at the end of the capture (offline analysis); closed when the
sensor stopped."""


@dataclass(slots=True)
class RtcpSummary:
    """RTCP reports about one RTP stream (SR sent by its source, RR/XR about it by its receiver)."""

    sr_count: int = 0
    rr_count: int = 0
    fraction_lost_max: float | None = None
    """Largest fraction lost (0..1) reported by the receiver."""
    cumulative_lost: int | None = None
    """Last cumulative number of packets lost reported by the receiver."""
    jitter_max_ms: float | None = None
    """Largest interarrival jitter reported by the receiver, in ms."""
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    xr_mos_lq: float | None = None
    xr_mos_cq: float | None = None
    xr_r_factor: int | None = None
    xr_loss_rate: float | None = None
    xr_discard_rate: float | None = None


@dataclass(slots=True)
class StreamRecord:
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    ssrc: int
    payload_type: int
    codec: str
    packets: int
    lost: int
    loss_pct: float
    duplicates: int
    out_of_order: int
    max_delta_ms: float | None
    """Largest arrival gap of a regular packet; null when no packet measured one."""
    max_jitter_ms: float | None
    """RFC 3550 jitter (docs/QUALITY.md); null when not computed (no audio packet of a known
    clock rate was measured): never 0.0 for "unknown"."""
    mean_jitter_ms: float | None
    mos: float | None
    """E-model MOS; null for non-audio streams, codecs without impairment values and streams
    with fewer than 2 audio packets (docs/QUALITY.md)."""
    rtcp: RtcpSummary | None
    first_ts: float
    last_ts: float
    direction: str | None = None
    """``"caller"`` when the caller sends it, ``"callee"`` when the callee sends it."""
    telephone_events: int = 0
    playout_discard_pct: float | None = None
    """Audio packets the playout-buffer model discards as too late, % of the audio packets:
    the figure that went into the MOS with the network loss; null without audio."""


@dataclass(slots=True)
class Problem:
    """One diagnosis of a call (docs/DIAGNOSIS.md): a code and its evidence."""

    code: str
    detail: str


@dataclass(slots=True)
class LegLink:
    """Another leg of the same call seen by the same sensor, and why they are linked:
    ``x-cid``, ``session-id``, ``icid`` or ``same-media`` (docs/DIAGNOSIS.md "Legs")."""

    uid: str
    call_id: str
    reason: str


@dataclass(slots=True)
class LegKeys:
    """What a call's legs can be correlated by, here and on other sensors."""

    cids: list[str] = field(default_factory=list)
    """Values of the correlation headers (``diagnosis.leg_headers``: X-CID...)."""
    session_ids: list[str] = field(default_factory=list)
    """RFC 7989 Session-ID uuids (local and remote, lower-case, the null uuid left out)."""
    icids: list[str] = field(default_factory=list)
    """P-Charging-Vector icid-values (RFC 7315)."""
    media: list[str] = field(default_factory=list)
    """SDP media endpoints announced by either side, ``ip:port``."""
    ssrcs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class CallRecord:
    call_id: str
    uid: str
    """Stable id of this call record: same capture, same uid (idempotent database writes)."""
    caller: str
    caller_domain: str
    caller_name: str
    called: str
    called_domain: str
    caller_ip: str
    caller_port: int
    called_ip: str
    called_port: int
    vlan: int | None
    invite_ts: float
    ringing_ts: float | None
    answer_ts: float | None
    end_ts: float
    duration_s: float
    connect_duration_s: float
    final_code: int | None
    final_reason: str | None
    hangup_by: str | None
    state: str
    codecs: list[str]
    dtmf: str
    streams: list[StreamRecord]
    pcap: str | None
    caller_ua: str | None = None
    called_ua: str | None = None
    bye_code: int | None = None
    """Response code to the BYE; null when the BYE was never answered (or there was none)."""
    challenged: bool = False
    """The initial INVITE was challenged (401/407) and re-sent with credentials."""
    sip_messages: int = 0
    retransmissions: int = 0
    transport: str = "udp"
    flags: list[str] = field(default_factory=list)
    """Notable facts: ``early_media``, ``hold``, ``media_changed``, ``reinvite``,
    ``no_invite_seen``, ``timeout``, ``bye_unanswered``, ``bye_not_seen``, ``sip_info_dtmf``, ``recovered``
    (completed after a sensor crash, docs/CDR.md "Recovered calls"). ``hold`` and
    ``media_changed`` come from renegotiations only (docs/CDR.md)."""
    pdd_ms: int | None = None
    """Post-dial delay: INVITE to the first 18x, or to the final response without 18x; null
    when the INVITE or any answer to it was not seen."""
    problems: list[Problem] = field(default_factory=list)
    """Why the call was bad, with evidence (docs/DIAGNOSIS.md); empty for a clean call."""
    leg_keys: LegKeys = field(default_factory=LegKeys)
    leg_group: str | None = None
    """The uid of the first leg of the group of legs this call belongs to (its own uid when it
    is the first or alone); null when leg linking is off."""
    leg_links: list[LegLink] = field(default_factory=list)


@dataclass(slots=True)
class RegistrationRecord:
    user: str
    domain: str
    contact_ip: str | None
    src_ip: str
    ts: float
    result_code: int | None
    expires: int | None
    challenged: bool
    call_id: str = ""
    src_port: int = 0
    user_agent: str | None = None
    attempts: int = 1


@dataclass(slots=True)
class MessageRecord:
    from_: str
    to: str
    ts: float
    body: str
    result_code: int | None
    call_id: str = ""
    src_ip: str = ""
    dst_ip: str = ""
    truncated: bool = False


Record = CallRecord | RegistrationRecord | MessageRecord | StreamRecord
"""A ``StreamRecord`` emitted on its own is an RTP stream bound to no call (``type: "stream"``)."""

_TYPES: dict[type, str] = {
    CallRecord: "call",
    RegistrationRecord: "registration",
    MessageRecord: "message",
    StreamRecord: "stream",
}


def _field_names(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON key) of each field of the record class ``cls``."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(
            (f.name, "from" if f.name == "from_" else f.name) for f in fields(cls)
        )
    return names


_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})
"""Field value types that go to JSON as they are (most values: checked first)."""


def _plain(obj: Any) -> dict[str, Any]:
    """Like dataclasses.asdict for our flat records, without its deep copies (hot on output)."""
    out: dict[str, Any] = {}
    for name, key in _field_names(type(obj)):
        v = getattr(obj, name)
        if type(v) in _SCALARS:
            pass
        elif isinstance(v, list):
            v = [_plain(x) if type(x) not in _SCALARS and is_dataclass(x) else x for x in v]
        elif is_dataclass(v):
            v = _plain(v)
        out[key] = v
    return out


def record_to_dict(rec: Record) -> dict[str, Any]:
    """JSON-ready dict with the ``type`` key first. ``MessageRecord.from_`` is emitted as ``from``."""
    return {"type": _TYPES[type(rec)], **_plain(rec)}


class RecordError(ValueError):
    """A dict (or journal line) is not a record this version can read."""


_KNOWN: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in fields(cls))
    for cls in (
        CallRecord,
        LegKeys,
        LegLink,
        MessageRecord,
        Problem,
        RegistrationRecord,
        RtcpSummary,
        StreamRecord,
    )
}


def _build(cls: type[Any], d: dict[str, Any]) -> Any:
    """``cls(**d)`` keeping only known keys (a newer writer may add some)."""
    known = _KNOWN[cls]
    try:
        return cls(**{k: val for k, val in d.items() if k in known})
    except TypeError as exc:
        raise RecordError(f"bad {cls.__name__}: {exc}") from exc


def _list(body: dict[str, Any], key: str) -> list[Any]:
    items = body.get(key, [])
    if not isinstance(items, list):
        raise RecordError(f"call {key} must be a list")
    return items


def _obj(d: Any, what: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise RecordError(f"{what} must be an object, got {type(d).__name__}")
    return d


def _stream(d: Any) -> StreamRecord:
    if not isinstance(d, dict):
        raise RecordError(f"stream must be an object, got {type(d).__name__}")
    d = dict(d)
    rtcp = d.get("rtcp")
    if rtcp is not None:
        if not isinstance(rtcp, dict):
            raise RecordError(f"rtcp must be an object, got {type(rtcp).__name__}")
        d["rtcp"] = _build(RtcpSummary, rtcp)
    result: StreamRecord = _build(StreamRecord, d)
    return result


def record_from_dict(d: dict[str, Any]) -> Record:
    """Inverse of :func:`record_to_dict`; :class:`RecordError` if malformed. Unknown keys are
    ignored (written by a newer version)."""
    if not isinstance(d, dict):
        raise RecordError(f"record must be an object, got {type(d).__name__}")
    kind = d.get("type")
    body = {k: val for k, val in d.items() if k != "type"}
    if kind == "call":
        streams = body.get("streams", [])
        if not isinstance(streams, list):
            raise RecordError("call streams must be a list")
        body["streams"] = [_stream(s) for s in streams]
        body["problems"] = [_build(Problem, _obj(p, "problem")) for p in _list(body, "problems")]
        body["leg_links"] = [_build(LegLink, _obj(p, "leg link")) for p in _list(body, "leg_links")]
        if "leg_keys" in body:
            body["leg_keys"] = _build(LegKeys, _obj(body["leg_keys"], "leg_keys"))
        call: CallRecord = _build(CallRecord, body)
        return call
    if kind == "registration":
        reg: RegistrationRecord = _build(RegistrationRecord, body)
        return reg
    if kind == "message":
        if "from" in body:
            body["from_"] = body.pop("from")
        msg: MessageRecord = _build(MessageRecord, body)
        return msg
    if kind == "stream":
        return _stream(body)
    raise RecordError(f"unknown record type {kind!r}")
