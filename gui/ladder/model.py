"""The ladder's input: plain data shaped like the REST API's JSON (docs/API.md), read into small
typed records. ``Flow.from_api`` takes ``GET /calls/{id}/sip`` (``?raw=1`` for the pane),
``Media.from_api`` takes ``GET /calls/{id}`` (its ``streams`` and ``dtmf_digits``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gui.charts.shape import ShapeError, shaped


class LadderInputError(ShapeError):
    """The data given to the ladder is not shaped like the API's answer."""


def _shaped(what: str) -> contextlib.AbstractContextManager[None]:
    return shaped(what, LadderInputError)


def _get(d: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return d[key]
    except (KeyError, TypeError) as exc:
        raise LadderInputError(f"{what}: missing field {key!r}") from exc


def _what(kind: str, d: Mapping[str, Any]) -> str:
    return f"{kind} {d.get('index', '?') if isinstance(d, Mapping) else '?'}"


def epoch(value: Any, what: str = "time") -> float:
    """Seconds since the epoch from an API time (ISO 8601, ``Z`` or offset), a datetime or a
    number; naive times are UTC like the API's."""
    if isinstance(value, bool):
        raise LadderInputError(f"{what}: not a time: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise LadderInputError(f"{what}: not a time: {value!r}")
        return float(value)
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise LadderInputError(f"{what}: not an ISO 8601 time: {value[:40]!r}") from exc
    if isinstance(value, dt.datetime):
        when: dt.datetime = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return when.timestamp()
    raise LadderInputError(f"{what}: not a time: {type(value).__name__}")


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class SipMsg:
    """One item of ``/calls/{id}/sip``."""

    index: int
    ts: float
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    transport: str
    method: str | None
    status: int | None
    reason: str | None
    cseq: int
    cseq_method: str
    call_id: str
    from_tag: str = ""
    to_tag: str = ""
    via_branch: str = ""
    retransmission: bool = False
    summary: str = ""
    user_agent: str | None = None
    sdp: str | None = None
    leg_id: int | None = None
    raw: str | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> SipMsg:
        what = _what("SIP message", d)
        status = d.get("status")
        return cls(
            index=int(_get(d, "index", what)),
            ts=epoch(_get(d, "ts", what), what),
            src_ip=str(_get(d, "src_ip", what)),
            src_port=int(_get(d, "src_port", what)),
            dst_ip=str(_get(d, "dst_ip", what)),
            dst_port=int(_get(d, "dst_port", what)),
            transport=str(d.get("transport") or "udp"),
            method=_opt_str(d.get("method")),
            status=None if status is None else int(status),
            reason=_opt_str(d.get("reason")),
            cseq=int(d.get("cseq") or 0),
            cseq_method=str(d.get("cseq_method") or ""),
            call_id=str(d.get("call_id") or ""),
            from_tag=str(d.get("from_tag") or ""),
            to_tag=str(d.get("to_tag") or ""),
            via_branch=str(d.get("via_branch") or ""),
            retransmission=bool(d.get("retransmission")),
            summary=str(d.get("summary") or ""),
            user_agent=_opt_str(d.get("user_agent")),
            sdp=_opt_str(d.get("sdp")),
            leg_id=None if d.get("leg_id") is None else int(d["leg_id"]),
            raw=_opt_str(d.get("raw")),
        )

    @property
    def is_request(self) -> bool:
        return self.method is not None


@dataclass(frozen=True, slots=True)
class Host:
    """One of ``hosts`` of ``/calls/{id}/sip``: an IP, its ports, its alias, its user agents."""

    ip: str
    ports: tuple[int, ...] = ()
    alias: str | None = None
    user_agents: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Host:
        return cls(
            ip=str(_get(d, "ip", "host")),
            ports=tuple(int(p) for p in d.get("ports") or ()),
            alias=_opt_str(d.get("alias")) or None,
            user_agents=tuple(str(u) for u in d.get("user_agents") or ()),
        )


@dataclass(frozen=True, slots=True)
class Flow:
    """``GET /calls/{id}/sip``: the messages in time order and the hosts they pass between."""

    items: tuple[SipMsg, ...]
    hosts: tuple[Host, ...] = ()
    call_ids: tuple[str, ...] = ()
    truncated: bool = False

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Flow:
        """Raises LadderInputError naming the first thing not shaped like the API's answer."""
        with _shaped("SIP flow"):
            items = tuple(SipMsg.from_api(i) for i in _get(d, "items", "SIP flow"))
            return cls(
                items=items,
                hosts=tuple(Host.from_api(h) for h in d.get("hosts") or ()),
                call_ids=tuple(str(c) for c in d.get("call_ids") or ()),
                truncated=bool(d.get("truncated")),
            )


def merge_flows(flows: Sequence[Flow]) -> Flow:
    """Several flows (legs with other Call-IDs, fetched one by one) as one, in time order,
    renumbered; hosts keep their first appearance, aliases and user agents are united."""
    items = sorted((m for f in flows for m in f.items), key=lambda m: m.ts)
    hosts: dict[str, Host] = {}
    for h in (h for f in flows for h in f.hosts):
        old = hosts.get(h.ip)
        if old is None:
            hosts[h.ip] = h
            continue
        hosts[h.ip] = Host(
            ip=h.ip,
            ports=old.ports + tuple(p for p in h.ports if p not in old.ports),
            alias=old.alias or h.alias,
            user_agents=old.user_agents
            + tuple(u for u in h.user_agents if u not in old.user_agents),
        )
    call_ids: list[str] = []
    for c in (c for f in flows for c in (*f.call_ids, *(m.call_id for m in f.items))):
        if c not in call_ids:
            call_ids.append(c)
    return Flow(
        items=tuple(_renumber(m, i) for i, m in enumerate(items)),
        hosts=tuple(hosts.values()),
        call_ids=tuple(call_ids),
        truncated=any(f.truncated for f in flows),
    )


def _renumber(m: SipMsg, index: int) -> SipMsg:
    return replace(m, index=index)


@dataclass(frozen=True, slots=True)
class Rtcp:
    """A stream's RTCP figures (``streams[].rtcp`` of ``/calls/{id}``)."""

    sr_count: int = 0
    rr_count: int = 0
    fraction_lost_max: float | None = None
    cumulative_lost: int | None = None
    jitter_max_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    xr_mos_lq: float | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Rtcp:
        lost = d.get("cumulative_lost")
        return cls(
            sr_count=int(d.get("sr_count") or 0),
            rr_count=int(d.get("rr_count") or 0),
            fraction_lost_max=_opt_float(d.get("fraction_lost_max")),
            cumulative_lost=None if lost is None else int(lost),
            jitter_max_ms=_opt_float(d.get("jitter_max_ms")),
            rtt_avg_ms=_opt_float(d.get("rtt_avg_ms")),
            rtt_max_ms=_opt_float(d.get("rtt_max_ms")),
            xr_mos_lq=_opt_float(d.get("xr_mos_lq")),
        )


@dataclass(frozen=True, slots=True)
class Stream:
    """One RTP stream of ``/calls/{id}`` with its quality."""

    index: int
    direction: str | None
    src_ip: str | None
    src_port: int
    dst_ip: str | None
    dst_port: int
    ssrc: int
    codec: str
    packets: int
    lost: int
    loss_pct: float
    max_jitter_ms: float | None
    mean_jitter_ms: float | None
    mos: float | None
    first_ts: float
    last_ts: float
    telephone_events: int = 0
    rtcp: Rtcp | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Stream:
        what = _what("stream", d)
        rtcp = d.get("rtcp")
        return cls(
            index=int(_get(d, "index", what)),
            direction=_opt_str(d.get("direction")),
            src_ip=_opt_str(d.get("src_ip")),
            src_port=int(d.get("src_port") or 0),
            dst_ip=_opt_str(d.get("dst_ip")),
            dst_port=int(d.get("dst_port") or 0),
            ssrc=int(d.get("ssrc") or 0),
            codec=str(d.get("codec") or "?"),
            packets=int(d.get("packets") or 0),
            lost=int(d.get("lost") or 0),
            loss_pct=float(d.get("loss_pct") or 0.0),
            max_jitter_ms=_opt_float(d.get("max_jitter_ms")),
            mean_jitter_ms=_opt_float(d.get("mean_jitter_ms")),
            mos=_opt_float(d.get("mos")),
            first_ts=epoch(_get(d, "first_ts", what), what),
            last_ts=epoch(_get(d, "last_ts", what), what),
            telephone_events=int(d.get("telephone_events") or 0),
            rtcp=Rtcp.from_api(rtcp) if isinstance(rtcp, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class Dtmf:
    """One DTMF digit (``dtmf_digits`` of ``/calls/{id}``); ``ts`` None when not timed."""

    digit: str
    ts: float | None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Dtmf:
        ts = d.get("ts")
        return cls(
            digit=str(_get(d, "digit", "DTMF")), ts=None if ts is None else epoch(ts, "DTMF")
        )


@dataclass(frozen=True, slots=True)
class Media:
    """The lanes beside the ladder: RTP/RTCP streams and DTMF digits."""

    streams: tuple[Stream, ...] = ()
    dtmf: tuple[Dtmf, ...] = ()

    @classmethod
    def from_api(cls, call: Mapping[str, Any]) -> Media:
        """From ``GET /calls/{id}`` (the call's detail); LadderInputError when not shaped so."""
        with _shaped("call"):
            return cls(
                streams=tuple(Stream.from_api(s) for s in call.get("streams") or ()),
                dtmf=tuple(Dtmf.from_api(d) for d in call.get("dtmf_digits") or ()),
            )
