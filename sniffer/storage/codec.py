"""Records <-> JSON lines of the journal (the dict form is the record contract's, db.records)."""

import json

from db.records import Record, RecordError, record_from_dict, record_to_dict


def encode(rec: Record) -> bytes:
    """One journal line (ASCII JSON, newline-terminated); :class:`RecordError` when a field
    holds something JSON cannot represent."""
    try:
        text = json.dumps(record_to_dict(rec), separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise RecordError(f"{type(rec).__name__} cannot be serialised: {exc}") from exc
    return text.encode("ascii") + b"\n"


def decode(line: bytes) -> Record:
    """Parse one journal line; :class:`RecordError` when it is not a record."""
    try:
        d = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"journal line is not JSON: {exc}") from exc
    return record_from_dict(d)
