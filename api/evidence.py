"""The evidence pack of a shared call: its pcap, the SIP flow as text, the quality summary
and the audio, as one zip or as single files, optionally redacted (api.redact)."""

import datetime as dt
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from api.media.audio import AudioError, StreamInfo, render_wav
from api.media.rtp import StreamKey
from api.pcap.export import stream_raw, stream_redacted
from api.pcap.flow import FlowMessage, call_flow
from api.redact import Redactor

FILES = ("evidence.zip", "call.pcap", "sip-flow.txt", "summary.json", "audio.wav")
CHUNK = 1 << 16


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.hex()
    return value


def redactor_for(call: dict[str, Any], ips: tuple[str, ...], mask: bool, keep: int) -> Redactor:
    numbers = [call["caller"], call["called"], call.get("caller_name") or ""] if mask else []
    return Redactor(ips, [n for n in numbers if n], keep)


def summary(call: dict[str, Any], r: Redactor) -> dict[str, Any]:
    """The CDR and its streams' quality, redacted."""
    keep = (
        "call_id",
        "caller",
        "caller_domain",
        "caller_name",
        "called",
        "called_domain",
        "caller_ip",
        "caller_port",
        "called_ip",
        "called_port",
        "invite_ts",
        "ringing_ts",
        "answer_ts",
        "end_ts",
        "duration_s",
        "connect_duration_s",
        "final_code",
        "final_reason",
        "hangup_by",
        "state",
        "codecs",
        "dtmf",
        "caller_ua",
        "called_ua",
        "bye_code",
        "sip_messages",
        "retransmissions",
        "transport",
        "flags",
    )
    out: dict[str, Any] = {}
    for k in keep:
        v = _jsonable(call.get(k))
        out[k] = r.text(v) if isinstance(v, str) else v
    out["streams"] = []
    for s in call["streams"]:
        row = {k: _jsonable(v) for k, v in s.items()}
        row["src_ip"], row["dst_ip"] = r.ip(row["src_ip"]), r.ip(row["dst_ip"])
        out["streams"].append(row)
    return out


def flow_text(call: dict[str, Any], msgs: list[FlowMessage], r: Redactor) -> str:
    lines = [
        r.text(
            f"SIP flow of Call-ID {call['call_id']} ({len(msgs)} messages), "
            f"times in UTC, offsets from the first message"
        ),
        "",
    ]
    t0 = msgs[0].ts if msgs else 0.0
    for m in msgs:
        src = f"{r.ip(m.src_ip)}:{m.src_port}"
        dst = f"{r.ip(m.dst_ip)}:{m.dst_port}"
        retrans = " [retransmission]" if m.retransmission else ""
        lines.append(
            r.text(
                f"{m.ts - t0:+10.3f} s  {src:>28} -> {dst:<28} {m.transport:<4} "
                f"{m.summary}{retrans}"
            )
        )
    for i, m in enumerate(msgs, 1):
        lines += [
            "",
            f"===== {i}: {_iso(m.ts)}  {r.ip(m.src_ip)}:{m.src_port} -> "
            f"{r.ip(m.dst_ip)}:{m.dst_port} ({m.transport}) =====",
            r.text(m.raw.replace("\r\n", "\n")).rstrip("\n"),
        ]
    return "\n".join(lines) + "\n"


def pcap_bytes(path: Path, r: Redactor, redact: bool) -> Iterator[bytes]:
    if redact:
        return stream_redacted(path, r.ip_map, r.data)
    return stream_raw(path)


def stream_infos(call: dict[str, Any], r: Redactor | None = None) -> list[StreamInfo]:
    return [
        StreamInfo(
            StreamKey(s["src_ip"], s["src_port"], s["dst_ip"], s["dst_port"], s["ssrc"]),
            s["direction"],
            s["codec"],
            s["payload_type"],
        )
        for s in call["streams"]
        if s["src_ip"] and s["dst_ip"]
    ]


def build_file(
    name: str,
    call: dict[str, Any],
    pcap: Path | None,
    r: Redactor,
    redact: bool,
    tmp_root: Path | None = None,
) -> tuple[Iterator[bytes], str]:
    """One file of the pack as a byte stream, and its media type."""
    if name == "summary.json":
        data = json.dumps(summary(call, r), indent=2, ensure_ascii=False).encode()
        return iter([data]), "application/json"
    if pcap is None:
        raise FileNotFoundError("the call has no pcap")
    if name == "call.pcap":
        return pcap_bytes(pcap, r, redact), "application/vnd.tcpdump.pcap"
    if name == "sip-flow.txt":
        msgs = call_flow([pcap], {call["call_id"]})
        return iter([flow_text(call, msgs, r).encode()]), "text/plain; charset=utf-8"
    if name == "audio.wav":
        wav = render_wav(pcap, stream_infos(call), "stereo", tmp_root)
        return wav.chunks(), "audio/wav"
    if name == "evidence.zip":
        return zip_pack(call, pcap, r, redact, tmp_root), "application/zip"
    raise KeyError(name)


def zip_pack(
    call: dict[str, Any], pcap: Path, r: Redactor, redact: bool, tmp_root: Path | None = None
) -> Iterator[bytes]:
    """The whole pack, built in a temporary file (members streamed in) then streamed out."""
    fd, name = tempfile.mkstemp(prefix="callsift-evidence-", suffix=".zip", dir=tmp_root)
    os.close(fd)
    path = Path(name)
    try:
        notes = [
            "callsift evidence pack",
            f"Call-ID: {r.text(call['call_id'])}",
            f"call start (UTC): {_jsonable(call['invite_ts'])}",
        ]
        if redact:
            notes.append(
                "Redacted: chosen addresses replaced consistently (the pcap is rebuilt "
                "as raw IP frames), numbers masked but for their last digits."
            )
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for member in ("call.pcap", "sip-flow.txt", "summary.json", "audio.wav"):
                try:
                    chunks, _ = build_file(member, call, pcap, r, redact, tmp_root)
                    with z.open(member, "w", force_zip64=True) as out:
                        for c in chunks:
                            out.write(c)
                except AudioError as exc:
                    notes.append(f"audio.wav: not included ({exc})")
            z.writestr("README.txt", "\n".join(notes) + "\n")
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)
