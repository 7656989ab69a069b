"""The ladder's layout, independent of its drawing: columns (one per IP, or per IP and port when
split), one row per SIP message with its columns, times, retransmission and leg, and the
position of any instant among the rows (for the RTP and DTMF lanes)."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from gui.ladder.model import Flow, Media, SipMsg


@dataclass(frozen=True, slots=True)
class Column:
    """One host of the ladder: an IP (ports folded, ``port`` None) or one IP and port."""

    index: int
    ip: str
    port: int | None
    ports: tuple[int, ...]
    alias: str | None
    user_agents: tuple[str, ...]

    @property
    def address(self) -> str:
        """``IP`` or ``IP:port`` (``[IPv6]:port``)."""
        if self.port is None:
            return self.ip
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    @property
    def title(self) -> str:
        """Everything known of the host, for a tooltip or the text header."""
        parts = [self.alias] if self.alias else []
        parts.append(self.address)
        if self.port is None and self.ports:
            parts.append("ports " + ",".join(str(p) for p in self.ports))
        parts.extend(self.user_agents)
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class Row:
    """One SIP message placed on the ladder; ``n`` (from 1) is its number and deep link
    (``#m{n}``)."""

    n: int
    msg: SipMsg
    src: int
    dst: int
    rel_s: float
    delta_s: float
    retrans: bool
    retrans_of: int | None
    leg: int
    mid: str

    @property
    def label(self) -> str:
        """What the arrow says: the method or ``status reason``, ``(SDP)`` with a body."""
        m = self.msg
        text = m.method if m.method is not None else f"{m.status} {m.reason or ''}".rstrip()
        return f"{text} (SDP)" if m.sdp else text

    @property
    def cseq_label(self) -> str:
        return f"CSeq {self.msg.cseq} {self.msg.cseq_method}".rstrip()

    @property
    def kind(self) -> str:
        """``req`` for a request, else the status class (``s1xx`` .. ``s6xx``)."""
        status = self.msg.status
        if self.msg.method is not None or status is None:
            return "req"
        return f"s{min(max(status // 100, 1), 6)}xx"

    @property
    def title(self) -> str:
        """The message in one line: number, summary, times, retransmission."""
        m = self.msg
        text = f"#{self.n} {m.summary or self.label}"
        text += f" | {m.src_ip}:{m.src_port} → {m.dst_ip}:{m.dst_port} {m.transport}"
        text += f" | {fmt_rel(self.rel_s)} s, {fmt_delta(self.delta_s)} after previous"
        text += f" | {fmt_utc(m.ts)}"
        if self.retrans:
            text += " | retransmission"
            if self.retrans_of is not None:
                text += f" of #{self.retrans_of}"
        return text


@dataclass(frozen=True, slots=True)
class Ladder:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    call_ids: tuple[str, ...]
    t0: float
    media: Media = field(default_factory=Media)
    truncated: bool = False
    total: int = -1
    """Messages of the whole flow (-1: ``len(rows)``, no window)."""

    def window(self, start: int, count: int) -> Ladder:
        """The rows ``start`` .. ``start + count`` only (numbers, times, retransmissions and
        columns as in the whole ladder): a page of a very long flow."""
        start = max(start, 0)
        return replace(self, rows=self.rows[start : start + max(count, 0)], total=self.size)

    @property
    def size(self) -> int:
        """Messages of the whole flow, window or not."""
        return len(self.rows) if self.total < 0 else self.total

    @property
    def aliases(self) -> dict[str, str]:
        """IP to alias, of the columns that have one."""
        return {c.ip: c.alias for c in self.columns if c.alias is not None}

    @property
    def media_end(self) -> float | None:
        """The last instant of media (an RTP packet, a DTMF digit), if any."""
        ends = [s.last_ts for s in self.media.streams]
        ends += [d.ts for d in self.media.dtmf if d.ts is not None]
        return max(ends) if ends else None

    @property
    def tail(self) -> float:
        """Rows of room below the last message for media that goes on after it (no BYE
        captured, a call still up): TAIL_ROWS, or 0."""
        end = self.media_end
        return TAIL_ROWS if self.rows and end is not None and end > self.rows[-1].msg.ts else 0.0

    @property
    def end_position(self) -> float:
        """The position of the bottom of the drawing (see ``position``)."""
        return len(self.rows) - 0.5 + self.tail

    def position(self, ts: float) -> float:
        """Where the instant ``ts`` falls among the rows: ``i`` at row ``i``, fractions between,
        -0.5 before the first; after the last message, the tail's share of the time left to
        the end of media, or ``len - 0.5`` without a tail."""
        times = [r.msg.ts for r in self.rows]
        if not times or ts < times[0]:
            return -0.5
        if ts > times[-1]:
            end = self.media_end
            if not self.tail or end is None:
                return len(times) - 0.5
            share = min((ts - times[-1]) / (end - times[-1]), 1.0)
            return len(times) - 1 + (0.5 + self.tail) * share
        i = bisect.bisect_right(times, ts) - 1
        if i >= len(times) - 1 or times[i + 1] == times[i]:
            return float(i)
        return i + (ts - times[i]) / (times[i + 1] - times[i])


TAIL_ROWS = 1.5


def fmt_rel(seconds: float) -> str:
    """A time relative to the INVITE: ``+1.234``."""
    return f"{seconds:+.3f}"


def fmt_utc(ts: float) -> str:
    """The capture time: ``2026-12-04 10:00:00.123456 UTC``."""
    try:
        when = dt.datetime.fromtimestamp(ts, dt.UTC)
        return when.isoformat(sep=" ", timespec="microseconds").replace("+00:00", " UTC")
    except (ValueError, OverflowError, OSError):
        return f"{ts:.6f}"


def fmt_delta(seconds: float) -> str:
    """A delta to the previous message: ``+0.4 ms``, ``+1.250 s``, ``+75.0 s``."""
    if seconds < 1:
        return f"+{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"+{seconds:.3f} s"
    return f"+{seconds:.1f} s"


def _retrans_key(m: SipMsg) -> tuple[object, ...]:
    return (
        m.leg_id,
        m.src_ip,
        m.src_port,
        m.dst_ip,
        m.dst_port,
        m.call_id,
        m.method,
        m.status,
        m.cseq,
        m.cseq_method,
        m.via_branch,
        m.from_tag,
        m.to_tag,
    )


def _mid(m: SipMsg) -> str:
    key = (
        f"{m.ts:.6f}|{m.leg_id}|{m.src_ip}|{m.src_port}|{m.dst_ip}|{m.dst_port}|{m.call_id}|"
        f"{m.cseq}|{m.cseq_method}|{m.method}|{m.status}|{m.via_branch}"
    )
    return hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:12]


def _split(ip: str, split: bool | Collection[str]) -> bool:
    return split if isinstance(split, bool) else ip in split


def build_ladder(
    flow: Flow,
    media: Media | None = None,
    *,
    split: bool | Collection[str] = False,
    aliases: Mapping[str, str] | None = None,
) -> Ladder:
    """Lay ``flow`` out. ``split``: True gives each IP:port its own column, a set of IPs splits
    only those; ``aliases`` (IP to name) override the flow's own."""
    names = {h.ip: h.alias for h in flow.hosts if h.alias}
    names.update(aliases or {})
    host_uas = {h.ip: h.user_agents for h in flow.hosts}
    keys: dict[tuple[str, int | None], list[int]] = {}
    uas: dict[tuple[str, int | None], list[str]] = {}
    for m in flow.items:
        for ip, port in ((m.src_ip, m.src_port), (m.dst_ip, m.dst_port)):
            ports = keys.setdefault((ip, port if _split(ip, split) else None), [])
            if port not in ports:
                ports.append(port)
        src = (m.src_ip, m.src_port if _split(m.src_ip, split) else None)
        ua = uas.setdefault(src, [])
        if m.user_agent and m.user_agent not in ua:
            ua.append(m.user_agent)
    columns: list[Column] = []
    where: dict[tuple[str, int | None], int] = {}
    for (ip, col_port), ports in keys.items():
        seen = list(uas.get((ip, col_port), ()))
        if col_port is None:
            seen += [u for u in host_uas.get(ip, ()) if u not in seen]
        where[(ip, col_port)] = len(columns)
        columns.append(Column(len(columns), ip, col_port, tuple(ports), names.get(ip), tuple(seen)))

    invites = [m.ts for m in flow.items if m.method == "INVITE"]
    t0 = invites[0] if invites else (flow.items[0].ts if flow.items else 0.0)
    legs: list[str] = []
    for c in (*(m.call_id for m in flow.items), *flow.call_ids):
        if c not in legs:
            legs.append(c)
    first: dict[tuple[object, ...], int] = {}
    mids: set[str] = set()
    rows: list[Row] = []
    prev = flow.items[0].ts if flow.items else 0.0
    for i, m in enumerate(flow.items):
        n = i + 1
        key = _retrans_key(m)
        retrans_of = first.get(key)
        first.setdefault(key, n)
        mid = _mid(m)
        while mid in mids:
            mid = hashlib.sha1(mid.encode()).hexdigest()[:12]
        mids.add(mid)
        src_col = where[(m.src_ip, m.src_port if _split(m.src_ip, split) else None)]
        dst_col = where[(m.dst_ip, m.dst_port if _split(m.dst_ip, split) else None)]
        rows.append(
            Row(
                n=n,
                msg=m,
                src=src_col,
                dst=dst_col,
                rel_s=m.ts - t0,
                delta_s=max(m.ts - prev, 0.0),
                retrans=m.retransmission or retrans_of is not None,
                retrans_of=retrans_of,
                leg=legs.index(m.call_id),
                mid=mid,
            )
        )
        prev = m.ts
    return Ladder(tuple(columns), tuple(rows), tuple(legs), t0, media or Media(), flow.truncated)
