"""A stored call (``db.read.CallDetail``) as the flat row the API's views use: times as naive
UTC datetimes (as stored), list columns comma-joined, each stream a dict with ``stream_idx``
and its RTCP figures as ``rtcp_*``."""

import dataclasses
import datetime as dt
from typing import Any

from db.read import CallDetail, CallSummary
from db.records import StreamRecord

_EPOCH = dt.datetime(1970, 1, 1)


def naive(ts: float | None) -> dt.datetime | None:
    return None if ts is None else _EPOCH + dt.timedelta(microseconds=round(ts * 1e6))


def stream_row(idx: int, s: StreamRecord) -> dict[str, Any]:
    row = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "rtcp"}
    row["stream_idx"] = idx
    row["first_ts"], row["last_ts"] = naive(s.first_ts), naive(s.last_ts)
    if s.rtcp is not None:
        for k, value in dataclasses.asdict(s.rtcp).items():
            row[f"rtcp_{k}"] = value
    else:
        row["rtcp_sr_count"] = None
    return row


def call_row(detail: CallDetail, sensor_name: str | None) -> dict[str, Any]:
    rec = detail.record
    row = {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec) if f.name != "streams"}
    row["id"], row["sensor_id"], row["sensor_name"] = detail.id, detail.sensor_id, sensor_name
    for k in ("invite_ts", "ringing_ts", "answer_ts", "end_ts"):
        row[k] = naive(row[k])
    row["codecs"] = ",".join(rec.codecs)
    row["flags"] = ",".join(rec.flags)
    row["streams"] = [stream_row(i, s) for i, s in enumerate(rec.streams)]
    row["dtmf_digits"] = [(d.digit, naive(d.ts)) for d in detail.dtmf]
    return row


def summary_row(s: CallSummary) -> dict[str, Any]:
    row = s.model_dump()
    for k in ("invite_ts", "ringing_ts", "answer_ts", "end_ts"):
        row[k] = naive(row[k])
    return row
