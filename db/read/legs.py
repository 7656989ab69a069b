"""The other legs of a call (docs/DIAGNOSIS.md "Legs"): the legs its sensor grouped with it
(``cdr.leg_group``, reasons from ``cdr_leg_link``), and on any sensor the calls with the same
Call-ID or sharing a correlation key (``cdr_leg_key``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.calls import CALL_SELECT
from db.read.calls import _scope, _summary
from db.read.models import CallDetail, CallSummary, Model

LEG_WINDOW_S = 12 * 3600
"""Legs are looked for this far around the call's start (partition pruning)."""
MAX_LEGS = 50
MEDIA_WINDOW_S = 60
"""A leg on another sensor with one of the call's SSRCs must start this close to it."""
LinkReason = Literal["x-cid", "session-id", "icid", "same-media", "same-call-id"]
LINK_REASONS: tuple[str, ...] = get_args(LinkReason)
_KEY_REASON: dict[str, LinkReason] = {"cid": "x-cid", "session-id": "session-id", "icid": "icid"}


class Leg(Model):
    call: CallSummary
    reason: LinkReason
    """Why it is a leg of the call: one of :data:`LINK_REASONS`."""


def _in(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


async def _rows(cur: Any, where: str, params: Sequence[Any]) -> list[CallSummary]:
    await cur.execute(f"{CALL_SELECT} WHERE {where} ORDER BY c.invite_ts, c.id LIMIT %s",
                      (*params, MAX_LEGS))  # fmt: skip
    return [_summary(r) for r in await cur.fetchall()]


@translated("cannot list the legs of a call")
async def list_legs(
    conn: CONNECTION, call: CallDetail, sensor_ids: Sequence[int] | None = None
) -> list[Leg]:
    """The call's other legs within :data:`LEG_WINDOW_S` of its start, each once with the
    first reason found (its sensor's own links first), oldest first, at most :data:`MAX_LEGS`.
    ``call`` is read with :func:`db.read.get_call` (its keys and links loaded)."""
    rec = call.record
    scope, scope_params = _scope(sensor_ids)
    lo, hi = v.ts(rec.invite_ts - LEG_WINDOW_S), v.ts(rec.invite_ts + LEG_WINDOW_S)
    window = "c.invite_ts BETWEEN %s AND %s AND c.id <> %s"
    found: dict[int, Leg] = {}

    def add(calls: list[CallSummary], reason: LinkReason | dict[str, str]) -> None:
        for c in calls:
            if c.id not in found and len(found) < MAX_LEGS:
                why = reason if isinstance(reason, str) else reason.get(c.uid, "same-media")
                found[c.id] = Leg.model_validate({"call": c, "reason": why})

    async with conn.cursor() as cur:
        if rec.leg_group is not None:
            group = await _rows(
                cur, f"c.leg_group = %s AND c.sensor_id = %s AND {window}{scope}",
                (rec.leg_group, call.sensor_id, lo, hi, call.id, *scope_params),
            )  # fmt: skip
            add(group, await _group_reasons(cur, call, group, lo, hi))
        add(
            await _rows(cur, f"c.call_id = %s AND {window}{scope}",
                        (rec.call_id, lo, hi, call.id, *scope_params)),
            "same-call-id",
        )  # fmt: skip
        keys = rec.leg_keys
        if keys.cids:  # our correlation values naming another leg's Call-ID
            add(
                await _rows(cur, f"c.call_id IN ({_in(keys.cids)}) AND {window}{scope}",
                            (*keys.cids, lo, hi, call.id, *scope_params)),
                "x-cid",
            )  # fmt: skip
        pairs = [("cid", x) for x in [*keys.cids, rec.call_id]]
        pairs += [("session-id", x) for x in keys.session_ids]
        pairs += [("icid", x) for x in keys.icids]
        searches: list[tuple[str, list[str], LinkReason, tuple[Any, Any]]] = [
            (kind, [x for k, x in pairs if k == kind], reason, (lo, hi))
            for kind, reason in _KEY_REASON.items()
        ]
        near = v.ts(rec.invite_ts - MEDIA_WINDOW_S), v.ts(rec.invite_ts + MEDIA_WINDOW_S)
        # a media relay keeping the SSRC, seen by another sensor
        searches.append(("ssrc", [str(x) for x in keys.ssrcs], "same-media", near))
        for kind, values, reason, (start, stop) in searches:
            if not values:
                continue
            await cur.execute(
                "SELECT DISTINCT cdr_id FROM cdr_leg_key WHERE kind = %s "
                f"AND value IN ({_in(values)}) AND invite_ts BETWEEN %s AND %s LIMIT %s",
                (kind, *values, start, stop, MAX_LEGS + 1),
            )
            ids = [int(r[0]) for r in await cur.fetchall() if int(r[0]) != call.id]
            if ids:
                add(
                    await _rows(cur, f"c.id IN ({_in(ids)}) AND {window}{scope}",
                                (*ids, start, stop, call.id, *scope_params)),
                    reason,
                )  # fmt: skip
    return sorted(found.values(), key=lambda leg: (leg.call.invite_ts, leg.call.id))


async def _group_reasons(
    cur: Any, call: CallDetail, group: list[CallSummary], lo: Any, hi: Any
) -> dict[str, str]:
    """uid -> the reason of the link between the call and that leg of its group: the call's
    own link to it, else its link to the call, else the first link that put it in the group."""
    mine = {link.uid: link.reason for link in call.record.leg_links}
    if not group:
        return mine
    ids = [c.id for c in group]
    await cur.execute(
        "SELECT cdr_id, other_uid, reason FROM cdr_leg_link "
        f"WHERE cdr_id IN ({_in(ids)}) AND invite_ts BETWEEN %s AND %s ORDER BY cdr_id, seq",
        (*ids, lo, hi),
    )
    uid_of = {c.id: c.uid for c in group}
    theirs: dict[str, str] = {}
    first: dict[str, str] = {}
    for cdr_id, other_uid, reason in await cur.fetchall():
        uid = uid_of.get(int(cdr_id))
        if uid is None:
            continue
        first.setdefault(uid, str(reason))
        if other_uid == call.record.uid:
            theirs[uid] = str(reason)
    return {**first, **theirs, **mine}
