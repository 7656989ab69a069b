"""What ``callsift analyze`` prints: the records selected by ``--call-id``/``--number``, as JSON
lines (in completion order, or by start time with ``--sort time``) or as tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from db.records import CallRecord, MessageRecord, Record, RegistrationRecord, record_to_dict

if TYPE_CHECKING:
    from sniffer.cli.render import TableRenderer

SORT_ORDERS = ("completion", "time")


def start_time(rec: Record) -> float:
    """When the record's event began (the INVITE, the REGISTER, the MESSAGE, the first RTP)."""
    if isinstance(rec, CallRecord):
        return rec.invite_ts
    if isinstance(rec, RegistrationRecord | MessageRecord):
        return rec.ts
    return rec.first_ts


def _uri_user(uri: str) -> str:
    """``sip:1001@pbx`` -> ``1001``; a plain number stays as it is."""
    rest = uri.partition(":")[2] if uri.lower().startswith(("sip:", "sips:", "tel:")) else uri
    return rest.partition("@")[0]


class RecordFilter:
    """``--call-id`` (exact, any of them) and ``--number`` (prefix of the caller or the called
    party, of a registration's user, of a MESSAGE's sender or recipient; any of them). RTP
    streams bound to no call match neither."""

    def __init__(self, call_ids: Sequence[str] = (), numbers: Sequence[str] = ()) -> None:
        self.call_ids = frozenset(call_ids)
        self.numbers = tuple(numbers)

    @property
    def active(self) -> bool:
        return bool(self.call_ids or self.numbers)

    def __call__(self, rec: Record) -> bool:
        if self.call_ids and getattr(rec, "call_id", None) not in self.call_ids:
            return False
        if not self.numbers:
            return True
        if isinstance(rec, CallRecord):
            parties: tuple[str, ...] = (rec.caller, rec.called)
        elif isinstance(rec, RegistrationRecord):
            parties = (rec.user,)
        elif isinstance(rec, MessageRecord):
            parties = (_uri_user(rec.from_), _uri_user(rec.to))
        else:
            return False
        return any(p.startswith(n) for p in parties for n in self.numbers)


class Output:
    """Where selected records go: JSON lines on stdout, or collected for the tables."""

    def __init__(self, as_json: bool, *, sort: str = "completion", only: RecordFilter) -> None:
        self.as_json = as_json
        self.only = only
        self.held: list[Record] | None = [] if as_json and sort == "time" else None
        self.table: TableRenderer | None = None
        if not as_json:
            from sniffer.cli.render import TableRenderer

            self.table = TableRenderer()
        self.out = sys.stdout

    def __call__(self, rec: Record) -> None:
        if self.only.active and not self.only(rec):
            return
        if self.held is not None:
            self.held.append(rec)
        elif self.as_json:
            self._write(rec)
        elif self.table is not None:
            self.table.add(rec)

    def _write(self, rec: Record) -> None:
        self.out.write(json.dumps(record_to_dict(rec), ensure_ascii=False) + "\n")

    def finish(self) -> None:
        """Write what was held back for sorting."""
        if self.held:
            self.held.sort(key=start_time)  # stable: ties keep their completion order
            for rec in self.held:
                self._write(rec)
        self.held = [] if self.held is not None else None
