"""Lookup tables (``sip_reason``, ``user_agent``): unique text -> small integer id.

Ids found or created inside a transaction are *staged*; :meth:`LookupCache.confirm` after the
commit makes them permanent, :meth:`LookupCache.discard` after a rollback forgets them (a
rolled-back insert leaves no row behind, so its id must not be reused)."""

from collections.abc import Iterable

from db.connect import CONNECTION
from db.driver import translated
from db.queries import values as v
from db.queries.sql import insert_once

TEXT_SIZE = 255
LOOKUP_TABLES: dict[str, str] = {"sip_reason": "reason", "user_agent": "user_agent"}
"""Lookup table -> its text column."""
MAX_CACHED = 100_000
_CHUNK = 500


def lookup_key(value: str) -> str:
    """The text as stored: trimmed (PAD SPACE collations ignore trailing blanks) and cut."""
    return v.text(value.strip(), TEXT_SIZE).rstrip()


class LookupCache:
    """Per-connection-target memory of lookup ids, one map per table."""

    __slots__ = ("_known", "_staged")

    def __init__(self) -> None:
        self._known: dict[str, dict[str, int]] = {t: {} for t in LOOKUP_TABLES}
        self._staged: dict[str, dict[str, int]] = {t: {} for t in LOOKUP_TABLES}

    def get(self, table: str, key: str) -> int | None:
        return self._known[table].get(key) or self._staged[table].get(key)

    def stage(self, table: str, key: str, ident: int) -> None:
        self._staged[table][key] = ident

    def confirm(self) -> None:
        for table, staged in self._staged.items():
            known = self._known[table]
            if len(known) + len(staged) > MAX_CACHED:
                known.clear()
            known.update(staged)
            staged.clear()

    def discard(self) -> None:
        for staged in self._staged.values():
            staged.clear()

    def __len__(self) -> int:
        return sum(len(k) for k in self._known.values())


@translated("cannot resolve lookup ids")
async def resolve(
    conn: CONNECTION, table: str, texts: Iterable[str | None], cache: LookupCache
) -> dict[str, int]:
    """Ids for ``texts`` (keys as returned by :func:`lookup_key`), inserting the new ones."""
    column = LOOKUP_TABLES[table]
    wanted = {lookup_key(t) for t in texts if t and t.strip()}
    out: dict[str, int] = {}
    missing: list[str] = []
    for key in wanted:
        ident = cache.get(table, key)
        if ident is None:
            missing.append(key)
        else:
            out[key] = ident
    if not missing:
        return out
    missing.sort()  # one lock order for every writer: no deadlock between sensors
    found = await _select(conn, table, column, missing)
    new = [k for k in missing if k not in found]
    if new:
        async with conn.cursor() as cur:
            await cur.executemany(insert_once(table, (column,), "id"), [(k,) for k in new])
        found.update(await _select(conn, table, column, new))
    for key, ident in found.items():
        cache.stage(table, key, ident)
        out[key] = ident
    return out


async def _select(conn: CONNECTION, table: str, column: str, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    async with conn.cursor() as cur:
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join(["%s"] * len(chunk))
            await cur.execute(
                f"SELECT {column}, id FROM {table} WHERE {column} IN ({marks})", chunk
            )
            for text, ident in await cur.fetchall():
                found[str(text)] = int(ident)
    return found
