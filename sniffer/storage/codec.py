"""Records <-> JSON lines of the journal: ``record_to_dict`` (sniffer.records) and its inverse."""

import json
from dataclasses import fields
from typing import Any

from sniffer.records import (
    CallRecord,
    MessageRecord,
    Record,
    RegistrationRecord,
    RtcpSummary,
    StreamRecord,
    record_to_dict,
)
from sniffer.storage.errors import CodecError

_FIELDS: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in fields(cls))
    for cls in (CallRecord, MessageRecord, RegistrationRecord, RtcpSummary, StreamRecord)
}


def _build(cls: type[Any], d: dict[str, Any]) -> Any:
    """``cls(**d)`` keeping only known keys (a newer writer may add some)."""
    known = _FIELDS[cls]
    try:
        return cls(**{k: val for k, val in d.items() if k in known})
    except TypeError as exc:
        raise CodecError(f"bad {cls.__name__}: {exc}") from exc


def _stream(d: Any) -> StreamRecord:
    if not isinstance(d, dict):
        raise CodecError(f"stream must be an object, got {type(d).__name__}")
    d = dict(d)
    rtcp = d.get("rtcp")
    if rtcp is not None:
        if not isinstance(rtcp, dict):
            raise CodecError(f"rtcp must be an object, got {type(rtcp).__name__}")
        d["rtcp"] = _build(RtcpSummary, rtcp)
    result: StreamRecord = _build(StreamRecord, d)
    return result


def record_from_dict(d: dict[str, Any]) -> Record:
    """Inverse of :func:`sniffer.records.record_to_dict`; :class:`CodecError` if malformed."""
    if not isinstance(d, dict):
        raise CodecError(f"record must be an object, got {type(d).__name__}")
    kind = d.get("type")
    body = {k: val for k, val in d.items() if k != "type"}
    if kind == "call":
        streams = body.get("streams", [])
        if not isinstance(streams, list):
            raise CodecError("call streams must be a list")
        body["streams"] = [_stream(s) for s in streams]
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
    raise CodecError(f"unknown record type {kind!r}")


def encode(rec: Record) -> bytes:
    """One journal line (ASCII JSON, newline-terminated); :class:`CodecError` when a field
    holds something JSON cannot represent."""
    try:
        text = json.dumps(record_to_dict(rec), separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise CodecError(f"{type(rec).__name__} cannot be serialised: {exc}") from exc
    return text.encode("ascii") + b"\n"


def decode(line: bytes) -> Record:
    """Parse one journal line; :class:`CodecError` when it is not a record."""
    try:
        d = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"journal line is not JSON: {exc}") from exc
    return record_from_dict(d)
