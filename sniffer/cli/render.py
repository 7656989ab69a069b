"""Human-readable output of ``callsift analyze``: a calls table, then the other records."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from db.records import CallRecord, MessageRecord, Record, RegistrationRecord, StreamRecord


def _time(ts: float | None) -> str:
    if ts is None:
        return "-"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return f"{ts:.3f}"


def _party(user: str, domain: str) -> str:
    return f"{user}@{domain}" if user and domain else user or domain or "-"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _stream(s: StreamRecord) -> str:
    mos = f"{s.mos:.1f}" if s.mos is not None else "-"
    who = {"caller": "A>B", "callee": "B>A"}.get(s.direction or "", "")
    discard = ""
    if s.playout_discard_pct:
        discard = f" discard {s.playout_discard_pct:.1f}%"
    return (
        f"{who} {s.codec} {s.packets}p loss {s.loss_pct:.1f}%{discard} "
        f"jit {_ms(s.mean_jitter_ms)}/{_ms(s.max_jitter_ms)} MOS {mos}"
    ).strip()


def _by_direction(s: StreamRecord) -> tuple[int, float]:
    return (0 if s.direction == "caller" else 1, s.first_ts)


class TableRenderer:
    """Collects records, then renders them as tables."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []
        self.registrations: list[RegistrationRecord] = []
        self.messages: list[MessageRecord] = []
        self.orphans: list[StreamRecord] = []

    def add(self, rec: Record) -> None:
        if isinstance(rec, CallRecord):
            self.calls.append(rec)
        elif isinstance(rec, RegistrationRecord):
            self.registrations.append(rec)
        elif isinstance(rec, MessageRecord):
            self.messages.append(rec)
        else:
            self.orphans.append(rec)

    def render(self, out: TextIO, stats: dict[str, Any] | None) -> None:
        # a terminal wraps to its width; a file or pipe gets lines as long as the content
        width = shutil.get_terminal_size((160, 40)).columns if out.isatty() else 250
        console = Console(file=out, width=width, highlight=False)
        self.calls.sort(key=lambda c: c.invite_ts)
        t = Table(title=f"Calls ({len(self.calls)})", show_lines=False)
        for col in ("start (UTC)", "caller", "called", "result", "state", "dur s", "codecs"):
            t.add_column(col, no_wrap=col in ("start (UTC)", "result", "dur s"))
        t.add_column("RTP per direction (jitter mean/max ms)", no_wrap=True)
        for c in self.calls:
            code = f"{c.final_code} {c.final_reason or ''}".strip() if c.final_code else "-"
            state = c.state + (f" by {c.hangup_by}" if c.hangup_by else "")
            t.add_row(
                _time(c.invite_ts),
                _party(c.caller, c.caller_domain),
                _party(c.called, c.called_domain),
                code,
                state,
                f"{c.duration_s:.1f}",
                ",".join(c.codecs) or "-",
                "\n".join(_stream(s) for s in sorted(c.streams, key=_by_direction)) or "-",
            )
        console.print(t)
        if self.registrations:
            r = Table(title=f"Registrations ({len(self.registrations)})")
            for col in ("time (UTC)", "AOR", "from", "contact", "result", "expires", "challenged"):
                r.add_column(col)
            for g in sorted(self.registrations, key=lambda g: g.ts):
                r.add_row(
                    _time(g.ts),
                    _party(g.user, g.domain),
                    g.src_ip,
                    g.contact_ip or "-",
                    str(g.result_code) if g.result_code is not None else "no answer",
                    str(g.expires) if g.expires is not None else "-",
                    "yes" if g.challenged else "",
                )
            console.print(r)
        if self.messages:
            m = Table(title=f"MESSAGEs ({len(self.messages)})")
            for col in ("time (UTC)", "from", "to", "result", "body"):
                m.add_column(col)
            for msg in self.messages:
                m.add_row(
                    _time(msg.ts), msg.from_, msg.to, str(msg.result_code or "-"), msg.body[:60]
                )
            console.print(m)
        if self.orphans:
            o = Table(title=f"RTP streams bound to no call ({len(self.orphans)})")
            for col in ("src", "dst", "SSRC", "stream"):
                o.add_column(col)
            for s in self.orphans:
                o.add_row(
                    f"{s.src_ip}:{s.src_port}",
                    f"{s.dst_ip}:{s.dst_port}",
                    f"0x{s.ssrc:08X}",
                    _stream(s),
                )
            console.print(o)
        if stats is not None:
            st = Table(title="Counters")
            st.add_column("counter")
            st.add_column("value", justify="right")
            st.add_row("files", str(stats.get("files")))
            st.add_row("packets", str(stats.get("packets")))
            for k, v in stats.get("counters", {}).items():
                st.add_row(k, str(v))
            console.print(st)
