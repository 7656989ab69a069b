"""Call searches exported as CSV or JSON lines, a page at a time, each row's text made by the
server: the driver then decodes one string per call instead of thirty typed columns (decoding
in Python bounded the export at a few thousand calls per second). The quality of each party
(:func:`db.read.calls.stream_quality`) is appended to the row by the caller.

CSV as RFC 4180 (text fields always quoted, ``""`` inside), times in ISO 8601 with
microseconds; numbers as the server prints them (``5`` for a whole DOUBLE)."""

from __future__ import annotations

from dataclasses import dataclass

from db.connect import CONNECTION
from db.driver import translated
from db.read.calls import ORDER, criteria
from db.read.models import MAX_LIMIT, CallFilter

EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "sensor_id", "call_id", "invite_ts", "answer_ts", "end_ts", "caller", "caller_name",
    "caller_domain", "called", "called_domain", "caller_ip", "caller_port", "called_ip",
    "called_port", "vlan", "duration_s", "connect_duration_s", "final_code", "final_reason",
    "state", "hangup_by", "codecs", "flags", "transport", "caller_ua", "called_ua",
)  # fmt: skip
"""The columns the server writes, in order (the quality columns follow them)."""
_TEXT = {"call_id", "caller", "caller_name", "caller_domain", "called", "called_domain",
         "final_reason", "state", "hangup_by", "codecs", "flags", "transport", "caller_ua",
         "called_ua", "problems"}  # fmt: skip
_TIME = {"invite_ts", "answer_ts", "end_ts"}
_NOT_NULL = {"id", "sensor_id", "call_id", "invite_ts", "end_ts", "caller", "caller_name",
             "caller_domain", "called", "called_domain", "caller_ip", "caller_port", "called_ip",
             "called_port", "duration_s", "connect_duration_s", "state", "codecs", "flags",
             "transport", "problems"}  # fmt: skip
_SOURCE = {"final_reason": "r.reason", "caller_ua": "ua1.user_agent", "called_ua": "ua2.user_agent"}


def _value(col: str) -> str:
    """The column as text (NULL stays NULL): times in ISO 8601 UTC, addresses as text."""
    src = _SOURCE.get(col, f"c.{col}")
    if col in _TIME:
        return f"DATE_FORMAT({src}, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ')"
    if col in ("caller_ip", "called_ip"):
        return f"IFNULL(INET6_NTOA({src}), '')"
    return src


def _csv_field(col: str) -> str:
    """Text always quoted (numbers stay text in a spreadsheet: ``+49...``, leading zeros)."""
    value = _value(col)
    if col in _TEXT:
        value = f"CONCAT('\"', REPLACE({value}, '\"', '\"\"'), '\"')"
    return value if col in _NOT_NULL else f"IFNULL({value}, '')"


def _jsonl_pairs() -> str:
    return ", ".join(f"'{col}', {_value(col)}" for col in EXPORT_COLUMNS)


def _line(fmt: str) -> str:
    """One call's text, its parties' quality (``q``) last."""
    if fmt == "csv":
        cols = [_csv_field(c) for c in EXPORT_COLUMNS] + [f"IFNULL(q.{c}, '')" for c in _QUALITY]
        cols += [_csv_field(c) for c in _DIAGNOSIS]
        return "CONCAT_WS(',', " + ", ".join(cols) + ")"
    pairs = [f"'{col}', {_value(col)}" for col in EXPORT_COLUMNS]
    pairs += [f"'{c}', q.{c}" for c in _QUALITY]
    pairs += [f"'{col}', {_value(col)}" for col in _DIAGNOSIS]
    return f"JSON_OBJECT({', '.join(pairs)})"


_QUALITY = ("caller_mos", "caller_loss_pct", "callee_mos", "callee_loss_pct")
_DIAGNOSIS = ("pdd_ms", "problems")
"""The call's diagnosis (issue 8): post-dial delay and its problem codes, comma-joined."""
_QUALITY_SQL = ", ".join(
    f"{fn}(IF(direction = '{d}', {col}, NULL)) AS {d}_{name}"
    for d in ("caller", "callee")
    for name, fn, col in (("mos", "MIN", "mos"), ("loss_pct", "MAX", "loss_pct"))
)
"""The lowest MOS and highest loss % of the streams each party sent (as
:func:`db.read.calls.stream_quality`), per call."""
_LOOKUPS = (
    "LEFT JOIN sip_reason r ON r.id = c.final_reason_id "
    "LEFT JOIN user_agent ua1 ON ua1.id = c.caller_ua_id "
    "LEFT JOIN user_agent ua2 ON ua2.id = c.called_ua_id"
)
_EPOCH = "'1970-01-01'"
_ENDS = {"csv": "\r\n", "jsonl": "\n"}
MAX_TEXT = 64 << 20
"""``group_concat_max_len`` of an export's session: a page is one value (1,000 calls of at
most a few KiB each)."""
_SETTINGS = (
    f"SET STATEMENT group_concat_max_len = {MAX_TEXT}, "
    "optimizer_switch = 'split_materialized=off' FOR"
)
"""Each page statement's own settings: its text may be long, and the per-call quality is one
grouped read of the page's streams (the optimiser would otherwise group them call by call)."""
EXPORT_COLUMNS_ALL = (*EXPORT_COLUMNS, *_QUALITY, *_DIAGNOSIS)
"""Every column of an exported call, in order."""


@dataclass(frozen=True, slots=True)
class ExportPage:
    text: str
    """The page's calls, each ending with its line end (CRLF for CSV, LF for JSON lines)."""
    count: int
    next: str | None


@translated("cannot export calls")
async def export_page(conn: CONNECTION, f: CallFilter, fmt: str) -> ExportPage:
    """One page (``f.limit``, at most :data:`MAX_LIMIT`) of the search as text, written by the
    server: the page's keys first (one row: their list, time bounds and the next cursor), then
    its calls as one value. Two round trips and a handful of values per page, whatever
    its size."""
    limit = min(f.limit, MAX_LIMIT)
    clauses, params = criteria(f)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    keys = f"SELECT c.id, c.invite_ts FROM cdr c{where} {ORDER} LIMIT %s"
    order = "ORDER BY k.invite_ts DESC, k.id DESC"
    async with conn.cursor() as cur:
        await cur.execute(
            f"{_SETTINGS} SELECT COUNT(*), MIN(k.invite_ts), MAX(k.invite_ts), GROUP_CONCAT(k.id {order}), "
            f"SUBSTRING_INDEX(GROUP_CONCAT(CONCAT(TIMESTAMPDIFF(MICROSECOND, {_EPOCH}, "
            f"k.invite_ts), '.', k.id) {order}), ',', -1) FROM ({keys}) k",
            (*params, limit),
        )
        row = await cur.fetchone()
        count = int(row[0]) if row else 0
        if not count:
            return ExportPage("", 0, None)
        lo, hi, ids = row[1], row[2], [int(i) for i in str(row[3]).split(",")]
        marks = ", ".join(["%s"] * len(ids))
        await cur.execute(
            f"{_SETTINGS} SELECT GROUP_CONCAT({_line(fmt)}, %s {ORDER} SEPARATOR '') FROM cdr c "
            f"LEFT JOIN (SELECT cdr_id, {_QUALITY_SQL} FROM cdr_rtp WHERE cdr_id IN ({marks}) "
            "AND invite_ts BETWEEN %s AND %s GROUP BY cdr_id) q ON q.cdr_id = c.id "
            f"{_LOOKUPS} WHERE c.id IN ({marks}) AND c.invite_ts BETWEEN %s AND %s",
            (_ENDS[fmt], *ids, lo, hi, *ids, lo, hi),
        )
        text = await cur.fetchone()
    if not text or text[0] is None:
        return ExportPage("", 0, None)
    return ExportPage(str(text[0]), count, str(row[4]) if count == limit else None)
