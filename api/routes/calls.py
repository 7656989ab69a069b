"""``/calls``: search (keyset pages, newest first) and the same search exported as CSV or JSON
lines in constant memory."""

import datetime as dt
import inspect
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.audit import audit
from api.auth.principal import Principal
from api.deps import Conn, Viewer
from api.errors import bad_request, error_responses
from api.schemas.calllist import CallList
from api.timeutil import naive_utc
from db.pool import DbPool
from db.read import MAX_LIMIT, BadCursor, CallFilter
from db.read.calljson import list_calls_json
from db.read.export import EXPORT_COLUMNS_ALL, export_page
from db.records import CALL_STATES, PROBLEM_CODES

router = APIRouter(prefix="/calls", tags=["calls"])
EXPORT_PAGE = 1000
EXPORT_MAX_ROWS = 5_000_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NUMBER = Query(max_length=128, description="exact; `123*` prefix; `*` anywhere is a wildcard")


class CallQuery:
    """The search criteria as query parameters (shared by the list and the export)."""

    def __init__(
        self,
        since: Annotated[
            dt.datetime | None, Query(description="INVITE at or after (UTC unless zoned)")
        ] = None,
        until: Annotated[dt.datetime | None, Query(description="INVITE before")] = None,
        caller: Annotated[str | None, NUMBER] = None,
        called: Annotated[str | None, NUMBER] = None,
        party: Annotated[str | None, NUMBER] = None,
        ip: Annotated[str | None, Query(max_length=45, description="caller or called IP")] = None,
        code: Annotated[
            str | None,
            Query(
                pattern=r"^([1-6][0-9][0-9]|[1-6]xx)$",
                description="final code, or a class like 4xx",
            ),
        ] = None,
        state: Annotated[
            list[str] | None, Query(description=f"one of {', '.join(CALL_STATES)}")
        ] = None,
        outcome: Annotated[
            Literal["answered", "unanswered", "failed", "cancelled"] | None, Query()
        ] = None,
        min_duration: Annotated[float | None, Query(ge=0, description="seconds")] = None,
        max_duration: Annotated[float | None, Query(ge=0, description="seconds")] = None,
        codec: Annotated[str | None, Query(max_length=64)] = None,
        mos_below: Annotated[float | None, Query(ge=0, le=5)] = None,
        loss_above: Annotated[float | None, Query(ge=0, le=100, description="percent")] = None,
        sensor: Annotated[list[int] | None, Query(description="sensor ids")] = None,
        call_id: Annotated[
            str | None, Query(max_length=255, description="SIP Call-ID, exactly")
        ] = None,
        vlan: Annotated[int | None, Query(ge=0, le=4095)] = None,
        flag: Annotated[
            str | None, Query(max_length=32, description="e.g. hold, early_media")
        ] = None,
        problems: Annotated[
            list[str] | None,
            Query(
                description="calls with any of these problem codes (repeat, or comma-separate):"
                f" {', '.join(PROBLEM_CODES)}"
            ),
        ] = None,
    ) -> None:
        self.values = dict(locals())
        del self.values["self"]

    def to_filter(self, who: Principal, limit: int, cursor: str | None) -> CallFilter:
        p = self.values
        for name, value in p.items():
            texts = value if isinstance(value, list) else [value]
            if any(isinstance(t, str) and _CONTROL.search(t) for t in texts):
                raise bad_request(f"{name!r} holds a control character", name)
        crit: dict[str, Any] = {"limit": limit, "after": cursor}
        since, until = naive_utc(p["since"]), naive_utc(p["until"])
        if since is not None:
            crit["since"] = since.replace(tzinfo=dt.UTC).timestamp()
        if until is not None:
            crit["until"] = until.replace(tzinfo=dt.UTC).timestamp()
        for name in ("caller", "called", "party"):
            value = p[name]
            if value is None or value == "":
                continue
            stars = value.count("*")
            if stars == 0:
                crit[name] = value
            elif stars == 1 and value.endswith("*") and len(value) > 1:
                crit[f"{name}_prefix"] = value[:-1]
            elif value.strip("*"):
                crit[f"{name}_like"] = value
            else:
                raise bad_request(f"{name!r} needs more than wildcards", name)
        if p["ip"]:
            crit["ip"] = p["ip"]
        if p["code"]:
            if p["code"].endswith("xx"):
                crit["code_class"] = int(p["code"][0])
            else:
                crit["final_code"] = int(p["code"])
        if p["state"]:
            bad = [s for s in p["state"] if s not in CALL_STATES]
            if bad:
                raise bad_request(
                    f"unknown state {bad[0]!r} (one of {', '.join(CALL_STATES)})", "state"
                )
            crit["states"] = p["state"]
        for src, dst in (
            ("outcome", "outcome"),
            ("min_duration", "min_duration_s"),
            ("max_duration", "max_duration_s"),
            ("codec", "codec"),
            ("mos_below", "mos_below"),
            ("loss_above", "loss_above"),
            ("call_id", "call_id"),
            ("vlan", "vlan"),
            ("flag", "flag"),
        ):
            if p[src] is not None and p[src] != "":
                crit[dst] = p[src]
        if p["problems"]:
            wanted = [c.strip() for v in p["problems"] for c in v.split(",") if c.strip()]
            bad = [c for c in wanted if c not in PROBLEM_CODES]
            if bad:
                raise bad_request(
                    f"unknown problem {bad[0][:40]!r} (one of {', '.join(PROBLEM_CODES)})",
                    "problems",
                )
            if wanted:
                crit["problems"] = wanted
        sensors = p["sensor"]
        if sensors is not None:
            crit["sensor_ids"] = [s for s in sensors if who.sees(s)]
        elif who.sensor_scope is not None:
            crit["sensor_ids"] = list(who.sensor_scope)
        return CallFilter(**crit)


async def _criteria(**values: Any) -> CallQuery:
    return CallQuery(**values)


# The query parameters are CallQuery's; an async function builds it (FastAPI runs a class or
# plain function dependency in a worker thread, a thread hop per request).
setattr(  # noqa: B010 - a function attribute FastAPI reads
    _criteria,
    "__signature__",
    inspect.signature(CallQuery).replace(return_annotation=CallQuery),
)
Criteria = Annotated[CallQuery, Depends(_criteria)]


@router.get("", response_model=CallList, responses=error_responses(401, 422))
async def search_calls(
    conn: Conn,
    who: Viewer,
    criteria: Criteria,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page")
    ] = None,
) -> Response:
    """Calls matching every given criterion, newest first, one keyset page at a time."""
    f = criteria.to_filter(who, limit, cursor)
    try:
        page = await list_calls_json(conn, f)
    except BadCursor as exc:
        raise bad_request(str(exc), "cursor") from exc
    return Response(
        f'{{"items":[{page.items}],"next_cursor":{json.dumps(page.next)}}}',
        media_type="application/json",
    )


CSV_COLUMNS = EXPORT_COLUMNS_ALL


async def _export(pool: DbPool, f: CallFilter, fmt: str, max_rows: int) -> AsyncIterator[bytes]:
    """Pages of the search, written out as they are read: memory holds one page. The server
    writes the text of each page (db/read/export.py)."""
    if fmt == "csv":
        yield (",".join(CSV_COLUMNS) + "\r\n").encode()
    sent = 0
    cursor: str | None = f.after
    while sent < max_rows:
        page_f = f.model_copy(update={"after": cursor, "limit": min(EXPORT_PAGE, max_rows - sent)})
        async with pool.connection() as conn:
            page = await export_page(conn, page_f, fmt)
        if page.text:
            yield page.text.encode()
        sent += page.count
        cursor = page.next
        if cursor is None:
            return


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "description": "the search, every page",
        },
        **error_responses(401, 422),
    },
)
async def export_calls(
    request: Request,
    conn: Conn,
    who: Viewer,
    criteria: Criteria,
    format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",
    max_rows: Annotated[int, Query(ge=1, le=EXPORT_MAX_ROWS)] = 1_000_000,
) -> StreamingResponse:
    """The whole search (up to ``max_rows``), newest first, streamed as CSV or JSON lines."""
    f = criteria.to_filter(who, EXPORT_PAGE, None)
    await audit(conn, request, who, "export", format, {"max_rows": max_rows})
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    name = f"callsift-calls-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.{format}"
    return StreamingResponse(
        _export(request.app.state.pool, f, format, max_rows),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
