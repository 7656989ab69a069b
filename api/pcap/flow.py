"""The SIP flow of a call as a ladder needs it: per message its time, endpoints, transport,
method or status, CSeq, Call-ID, a retransmission flag, a one-line summary and the raw text."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from api.pcap.sipmsg import SipMessage
from api.pcap.sipstream import SipEvent, sip_events

_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.IGNORECASE)
_BRANCH = re.compile(r";\s*branch=([^;,\s]+)", re.IGNORECASE)
MAX_MESSAGES = 20000
"""A flow longer than this is cut (``truncated``): no ladder shows more."""


@dataclass(frozen=True, slots=True)
class FlowMessage:
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
    from_tag: str
    to_tag: str
    branch: str
    retransmission: bool
    summary: str
    user_agent: str | None
    has_sdp: bool
    sdp: str | None
    raw: str
    frames: tuple[int, ...]


def _tag(value: str | None) -> str:
    m = _TAG.search(value or "")
    return m.group(1) if m else ""


def _branch(value: str | None) -> str:
    m = _BRANCH.search(value or "")
    return m.group(1) if m else ""


def sdp_summary(body: str) -> str:
    """``audio 10.0.0.1:4000 PCMU/8000,telephone-event/8000 sendrecv`` per m-line."""
    conn = ""
    parts: list[str] = []
    cur: dict[str, object] | None = None
    medias: list[dict[str, object]] = []
    for line in body.splitlines():
        if line.startswith("c=") and cur is None:
            conn = line[2:].split()[-1] if line[2:].split() else ""
        elif line.startswith("m="):
            f = line[2:].split()
            cur = {
                "kind": f[0] if f else "?",
                "port": f[1] if len(f) > 1 else "?",
                "pts": f[3:],
                "maps": {},
                "conn": conn,
                "dir": "",
            }
            medias.append(cur)
        elif cur is not None and line.startswith("c="):
            f = line[2:].split()
            cur["conn"] = f[-1] if f else conn
        elif cur is not None and line.startswith("a=rtpmap:"):
            pt, _, enc = line[9:].partition(" ")
            maps = cur["maps"]
            assert isinstance(maps, dict)
            maps[pt.strip()] = enc.strip()
        elif cur is not None and line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
            cur["dir"] = line[2:]
    for m in medias:
        maps = m["maps"]
        pts = m["pts"]
        assert isinstance(maps, dict) and isinstance(pts, list)
        codecs = ",".join(str(maps.get(pt, _STATIC.get(pt, pt))) for pt in pts)
        text = f"{m['kind']} {m['conn']}:{m['port']} {codecs}"
        if m["dir"]:
            text += f" {m['dir']}"
        parts.append(text)
    return "; ".join(parts)


_STATIC = {
    "0": "PCMU/8000",
    "3": "GSM/8000",
    "4": "G723/8000",
    "8": "PCMA/8000",
    "9": "G722/8000",
    "13": "CN/8000",
    "18": "G729/8000",
}


def _summary(msg: SipMessage, sdp: str | None) -> str:
    if msg.method is not None:
        text = f"{msg.method} {msg.uri}"
    else:
        text = f"{msg.status} {msg.reason}".rstrip()
    num, meth = msg.cseq
    text += f" (CSeq {num} {meth})" if meth else ""
    if sdp:
        text += f" SDP: {sdp}"
    return text


def build_flow(events: Iterable[SipEvent], call_ids: set[str] | None = None) -> list[FlowMessage]:
    """Ladder entries of the events (of ``call_ids`` only when given), in time order."""
    seen: set[tuple[object, ...]] = set()
    out: list[FlowMessage] = []
    for ev in events:
        msg = ev.message
        cid = msg.call_id
        if call_ids is not None and cid not in call_ids:
            continue
        num, meth = msg.cseq
        from_tag = _tag(msg.header("from"))
        to_tag = _tag(msg.header("to"))
        branch = _branch(msg.header("via"))
        key = (
            ev.src,
            ev.sport,
            ev.dst,
            ev.dport,
            msg.method,
            msg.status,
            num,
            meth,
            branch,
            from_tag,
            to_tag,
            cid,
        )
        retrans = key in seen
        seen.add(key)
        ctype = (msg.header("content-type") or "").lower()
        body = msg.body.decode("utf-8", "replace")
        sdp = sdp_summary(body) if "application/sdp" in ctype and body else None
        out.append(
            FlowMessage(
                ts=ev.ts,
                src_ip=ev.src,
                src_port=ev.sport,
                dst_ip=ev.dst,
                dst_port=ev.dport,
                transport=ev.transport,
                method=msg.method,
                status=msg.status,
                reason=msg.reason,
                cseq=num,
                cseq_method=meth,
                call_id=cid,
                from_tag=from_tag,
                to_tag=to_tag,
                branch=branch,
                retransmission=retrans,
                summary=_summary(msg, sdp),
                user_agent=msg.header("user-agent") or msg.header("server"),
                has_sdp=sdp is not None,
                sdp=sdp,
                raw=msg.raw.decode("utf-8", "replace"),
                frames=ev.frames,
            )
        )
        if len(out) >= MAX_MESSAGES:
            break
    out.sort(key=lambda m: m.ts)  # stable: HEP times may run behind capture order
    return out


def call_flow(paths: Iterable[str | Path], call_ids: set[str] | None) -> list[FlowMessage]:
    """The flow read from one or more pcaps (legs), merged in time order."""
    merged: list[FlowMessage] = []
    for p in paths:
        merged.extend(build_flow(sip_events(p), call_ids))
    merged.sort(key=lambda m: m.ts)
    return merged
