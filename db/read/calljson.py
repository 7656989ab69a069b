"""A page of the call search as the REST API sends it: each call's JSON object written by the
server.

Decoding thirty typed columns a call in the driver (pure Python), building a summary of each
and serialising it was most of a list request's CPU time in the API process (py-spy in
docs/BENCHMARKS.md); here the driver decodes one value per call. The objects have the fields
of the API's ``CallItem`` (api/schemas/calllist.py), times as UTC ISO 8601 (``...Z``, the
fraction only when not zero, as pydantic writes them), a whole DOUBLE as the server prints it
(``5``, not ``5.0``)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from db.connect import CONNECTION
from db.driver import translated
from db.read.calls import ORDER, criteria
from db.read.models import MAX_LIMIT, CallFilter

_EPOCH = dt.datetime(1970, 1, 1)
_SETTINGS = "SET STATEMENT group_concat_max_len = 1048576 FOR"
"""The keys statement's value: 1,001 keys of 30 bytes at most."""


def _time(col: str) -> str:
    return (
        f"DATE_FORMAT({col}, IF(MICROSECOND({col}), '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ', "
        "'%%Y-%%m-%%dT%%H:%%i:%%sZ'))"
    )


def _list(col: str) -> str:
    """A comma-joined column as a JSON array (``[]`` when empty): the quoted text with each
    comma made a boundary (JSON_QUOTE's escapes hold no comma; items never do)."""
    return (
        f"IF(IFNULL({col}, '') = '', JSON_ARRAY(), "
        f"JSON_EXTRACT(CONCAT('[', REPLACE(JSON_QUOTE({col}), ',', '\",\"'), ']'), '$'))"
    )


def _quality(d: str) -> str:
    return (
        f"IF(q.{d}_n > 0, JSON_OBJECT('mos', q.{d}_mos, 'loss_pct', IFNULL(q.{d}_loss, 0), "
        f"'jitter_ms', IFNULL(q.{d}_jitter, 0)), NULL)"
    )


_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "c.id"),
    ("sensor_id", "c.sensor_id"),
    ("call_id", "c.call_id"),
    ("caller", "c.caller"),
    ("caller_name", "c.caller_name"),
    ("caller_domain", "c.caller_domain"),
    ("called", "c.called"),
    ("called_domain", "c.called_domain"),
    ("caller_ip", "IFNULL(INET6_NTOA(c.caller_ip), '')"),
    ("caller_port", "c.caller_port"),
    ("called_ip", "IFNULL(INET6_NTOA(c.called_ip), '')"),
    ("called_port", "c.called_port"),
    ("vlan", "c.vlan"),
    ("invite_ts", _time("c.invite_ts")),
    ("ringing_ts", _time("c.ringing_ts")),
    ("answer_ts", _time("c.answer_ts")),
    ("end_ts", _time("c.end_ts")),
    ("duration_s", "c.duration_s"),
    ("connect_duration_s", "c.connect_duration_s"),
    ("final_code", "c.final_code"),
    ("final_reason", "r.reason"),
    ("hangup_by", "c.hangup_by"),
    ("state", "c.state"),
    ("codecs", _list("c.codecs")),
    ("flags", _list("c.flags")),
    ("transport", "c.transport"),
    ("caller_ua", "ua1.user_agent"),
    ("called_ua", "ua2.user_agent"),
    ("pdd_ms", "c.pdd_ms"),
    ("problems", _list("c.problems")),
    ("leg_group", "c.leg_group"),
    ("has_pcap", "IFNULL(c.pcap, '') <> ''"),
    ("caller_quality", _quality("caller")),
    ("callee_quality", _quality("callee")),
)
ITEM_FIELDS = tuple(name for name, _ in _FIELDS)
"""The keys of each call's object, in order."""
_OBJECT = "JSON_OBJECT(" + ", ".join(f"'{name}', {sql}" for name, sql in _FIELDS) + ")"
_QUALITY_SQL = ", ".join(
    f"SUM(direction = '{d}') AS {d}_n, MIN(IF(direction = '{d}', mos, NULL)) AS {d}_mos, "
    f"MAX(IF(direction = '{d}', loss_pct, NULL)) AS {d}_loss, "
    f"MAX(IF(direction = '{d}', max_jitter_ms, NULL)) AS {d}_jitter"
    for d in ("caller", "callee")
)
"""Per call and party: its streams, their lowest MOS, highest loss % and highest jitter (as
:func:`db.read.calls.stream_quality`)."""
_LOOKUPS = (
    "LEFT JOIN sip_reason r ON r.id = c.final_reason_id "
    "LEFT JOIN user_agent ua1 ON ua1.id = c.caller_ua_id "
    "LEFT JOIN user_agent ua2 ON ua2.id = c.called_ua_id"
)


@dataclass(frozen=True, slots=True)
class JsonPage:
    items: str
    """The page's call objects, comma-separated (the inside of a JSON array)."""
    count: int
    next: str | None


def keys_sql(f: CallFilter) -> tuple[str, list[object]]:
    """The statement finding the page's keys (as one value: ``micros.id`` newest first) and
    its parameters, the row limit last left to the caller: for EXPLAIN in the benchmarks."""
    clauses, params = criteria(f)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    keys = f"SELECT c.id, c.invite_ts FROM cdr c{where} {ORDER} LIMIT %s"
    return (
        f"{_SETTINGS} SELECT GROUP_CONCAT(CONCAT(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', "
        f"k.invite_ts), '.', k.id) ORDER BY k.invite_ts DESC, k.id DESC) FROM ({keys}) k",
        params,
    )


KEYS_TABLE = (
    "JSON_TABLE(%s, '$[*]' COLUMNS (n FOR ORDINALITY, id BIGINT UNSIGNED PATH '$[0]', "
    "invite_ts DATETIME(6) PATH '$[1]'))"
)
"""The page's keys ``[[id, "invite_ts"], ...]`` (newest first: ``n``) as a table."""
PAGE_SQL = (
    "SET STATEMENT optimizer_switch = 'split_materialized=off' FOR "  # one grouped read
    f"SELECT k.n, {_OBJECT} FROM {KEYS_TABLE} k "
    "STRAIGHT_JOIN cdr c ON c.id = k.id AND c.invite_ts = k.invite_ts "
    f"LEFT JOIN (SELECT s.cdr_id, {_QUALITY_SQL} FROM {KEYS_TABLE} k2 STRAIGHT_JOIN cdr_rtp s "
    "FORCE INDEX (idx_cdr_rtp_invite_ts) ON s.invite_ts = k2.invite_ts AND s.cdr_id = k2.id "
    f"GROUP BY s.cdr_id) q ON q.cdr_id = c.id {_LOOKUPS}"
)
"""The page's calls, one JSON object a row after its place in the page (the caller orders
them: an ``ORDER BY`` sorted the objects through temporary files); its parameters: the keys'
JSON, twice.

Each call and its streams are looked up by key, each lookup in the one partition of its
``invite_ts`` (``cdr_rtp`` through its ``invite_ts`` index: its primary key has ``stream_idx``
before ``invite_ts``, which would look every call up in every partition). ``id IN (...)``
over the page's time range instead was a range per id in every partition of the range: for
one caller's calls over 30 days, 1,740 index dives and 3x the server's CPU time. The objects
are rows rather than one ``GROUP_CONCAT`` value: aggregating values this long made MariaDB
write a temporary table to disk per request."""


@translated("cannot list calls")
async def list_calls_json(conn: CONNECTION, f: CallFilter) -> JsonPage:
    """One page of the calls matching ``f`` (as :func:`db.read.list_calls`), written as JSON
    by the server: the page's keys first (one value), then its calls. Raises
    :class:`~db.read.models.BadCursor` for a cursor it did not hand out."""
    limit = min(f.limit, MAX_LIMIT)
    async with conn.cursor() as cur:
        keys = await page_keys_of(cur, f, limit + 1)
        if not keys:
            return JsonPage("", 0, None)
        nxt = keys[limit - 1] if len(keys) > limit else None
        keys = keys[:limit]
        doc = keys_doc(keys)
        await cur.execute(PAGE_SQL, (doc, doc))
        items = ",".join(str(obj) for _, obj in sorted(await cur.fetchall()))
    return JsonPage(items, len(keys), nxt)


@translated("cannot list calls")
async def page_keys(conn: CONNECTION, f: CallFilter) -> str:
    """The parameter of :data:`PAGE_SQL` for the first page of ``f`` (for EXPLAIN)."""
    async with conn.cursor() as cur:
        return keys_doc(await page_keys_of(cur, f, min(f.limit, MAX_LIMIT)))


async def page_keys_of(cur: Any, f: CallFilter, n: int) -> list[str]:
    """The first ``n`` keys (``micros.id``) of the search, newest first."""
    sql, params = keys_sql(f)
    await cur.execute(sql, (*params, n))
    row = await cur.fetchone()
    return str(row[0]).split(",") if row and row[0] else []


def keys_doc(keys: list[str]) -> str:
    """Keys ``micros.id`` -> ``[[id, "YYYY-MM-DD HH:MM:SS.ffffff"], ...]``."""
    out = []
    for key in keys:
        micros, ident = key.split(".")
        out.append((int(ident), str(_EPOCH + dt.timedelta(microseconds=int(micros)))))
    return json.dumps(out, separators=(",", ":"))
