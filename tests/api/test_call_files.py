"""One call: record, pcap (tshark reads it), SIP flow (tshark lists the same messages),
audio (WAV figures), RTP series, legs; scope and roles."""

import datetime as dt
import io
import subprocess
import wave
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import SENSOR_A, SENSOR_C, Stack, cdr_id, login


def ts(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


G711_CALL = "12013223@200.57.7.195"
TCP_CALL = "158936656982201062716@10.33.6.100"
ULAW_CALL = "3cfe1c77155241bb89eb003ab8e2f87b"


def tshark(path: Path, *args: str) -> list[list[str]]:
    r = subprocess.run(
        ["tshark", "-r", str(path), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def _download(client: TestClient, url: str, h: dict[str, str], tmp: Path, name: str) -> Path:
    r = client.get(url, headers=h)
    assert r.status_code == 200, r.text
    out = tmp / name
    out.write_bytes(r.content)
    return out


def test_call_record(client: TestClient, viewer: dict[str, str], stack: Stack) -> None:
    cid = cdr_id(stack.url, G711_CALL)
    r = client.get(f"/api/v1/calls/{cid}", headers=viewer)
    assert r.status_code == 200, r.text
    c = r.json()
    want = stack.records[(SENSOR_A, G711_CALL)]
    assert c["sensor_id"] == SENSOR_A and c["has_pcap"] is True
    for key in (
        "call_id",
        "uid",
        "caller",
        "called",
        "caller_ip",
        "called_ip",
        "caller_port",
        "final_code",
        "final_reason",
        "state",
        "codecs",
        "flags",
        "caller_ua",
        "called_ua",
        "sip_messages",
        "retransmissions",
        "transport",
        "hangup_by",
    ):
        assert c[key] == want[key], key
    assert c["duration_s"] == pytest.approx(want["duration_s"], abs=1e-5)
    assert ts(c["invite_ts"]) == pytest.approx(want["invite_ts"], abs=1e-6)
    assert ts(c["ringing_ts"]) - ts(c["invite_ts"]) == pytest.approx(c["pdd_ms"] / 1000, abs=5e-4)
    assert len(c["streams"]) == len(want["streams"])
    for got, exp in zip(c["streams"], want["streams"], strict=True):
        for key in ("ssrc", "codec", "packets", "lost", "direction", "src_ip", "dst_port", "mos"):
            assert got[key] == exp[key], key
        assert (got["rtcp"] is None) == (exp["rtcp"] is None)
    assert c["invite_ts"].endswith("Z")
    assert client.get("/api/v1/calls/999999999", headers=viewer).status_code == 404


@pytest.mark.parametrize("bad", ["1%20OR%201=1", "..%2F..%2Fetc%2Fpasswd", "-1", "0", "1e3", "abc"])
def test_path_tricks_in_ids_find_nothing(
    client: TestClient, viewer: dict[str, str], bad: str
) -> None:
    r = client.get(f"/api/v1/calls/{bad}", headers=viewer)
    assert r.status_code in (404, 422), r.text
    assert r.json()["error"] in ("not_found", "invalid_parameter")


@pytest.mark.slow  # tshark
def test_pcap_full_and_sip_only_read_in_tshark(
    client: TestClient, operator: dict[str, str], stack: Stack, tmp_path: Path
) -> None:
    for call in (G711_CALL, TCP_CALL):
        cid = cdr_id(stack.url, call)
        rec = client.get(f"/api/v1/calls/{cid}", headers=operator).json()
        full = _download(client, f"/api/v1/calls/{cid}/pcap", operator, tmp_path, "full.pcap")
        sip = _download(
            client, f"/api/v1/calls/{cid}/pcap?sip_only=1", operator, tmp_path, "sip.pcap"
        )
        frames = tshark(full, "-T", "fields", "-e", "frame.number")
        rtp_frames = tshark(
            full,
            "-o",
            "rtp.heuristic_rtp:TRUE",
            "-Y",
            "rtp || rtcp",
            "-T",
            "fields",
            "-e",
            "frame.number",
        )
        sip_in_full = tshark(full, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID")
        sip_in_sip = tshark(sip, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID")
        assert len(rtp_frames) >= sum(s["packets"] for s in rec["streams"]) > 0
        assert sip_in_sip == sip_in_full and sip_in_full
        assert tshark(sip, "-o", "rtp.heuristic_rtp:TRUE", "-Y", "rtp || rtcp") == []
        assert len(tshark(sip, "-T", "fields", "-e", "frame.number")) < len(frames)


def test_viewer_cannot_download(client: TestClient, viewer: dict[str, str], stack: Stack) -> None:
    cid = cdr_id(stack.url, G711_CALL)
    for url in (f"/api/v1/calls/{cid}/pcap", f"/api/v1/calls/{cid}/audio.wav"):
        r = client.get(url, headers=viewer)
        assert r.status_code == 403
        assert r.json()["message"] == "this needs the operator role (you are viewer)"


@pytest.mark.slow  # tshark
def test_sip_flow_matches_tshark(
    client: TestClient,
    viewer: dict[str, str],
    operator: dict[str, str],
    stack: Stack,
    tmp_path: Path,
) -> None:
    for call in (G711_CALL, TCP_CALL, ULAW_CALL):
        cid = cdr_id(stack.url, call)
        flow = client.get(f"/api/v1/calls/{cid}/sip?raw=1", headers=viewer).json()
        pcap = _download(client, f"/api/v1/calls/{cid}/pcap", operator, tmp_path, "c.pcap")
        want = []
        for cids, methods, codes, seqs in tshark(
            pcap,
            "-Y",
            "sip",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
            "-e",
            "sip.CSeq.seq",
        ):
            for i, c in enumerate(cids.split("|")):
                if c == call:
                    m = methods.split("|")[i] if methods else ""
                    want.append(
                        (
                            m or None,
                            int(codes.split("|")[i]) if not m else None,
                            int(seqs.split("|")[i]),
                        )
                    )
        got = [(m["method"], m["status"], m["cseq"]) for m in flow["items"]]
        assert sorted(got, key=str) == sorted(want, key=str) and len(got) == len(want), call
        first = flow["items"][0]
        assert first["method"] == "INVITE" and first["raw"].startswith("INVITE ")
        assert first["offset_ms"] == 0 and first["summary"].startswith("INVITE sip:")
        assert flow["hosts"] and flow["hosts"][0]["ip"] == first["src_ip"]
        assert all(m["call_id"] == call for m in flow["items"])


def test_alias_labels_ladder_columns(
    client: TestClient, admin: dict[str, str], viewer: dict[str, str], stack: Stack
) -> None:
    cid = cdr_id(stack.url, G711_CALL)
    first = client.get(f"/api/v1/calls/{cid}/sip", headers=viewer).json()["hosts"][0]["ip"]
    assert (
        client.put(f"/api/v1/aliases/{first}", headers=viewer, json={"alias": "x"}).status_code
        == 403
    )
    r = client.put(f"/api/v1/aliases/{first}", headers=admin, json={"alias": "Caller PBX"})
    assert r.status_code == 200 and r.json()["ip"] == first
    hosts = client.get(f"/api/v1/calls/{cid}/sip", headers=viewer).json()["hosts"]
    assert hosts[0]["alias"] == "Caller PBX"
    assert client.delete(f"/api/v1/aliases/{first}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/aliases/{first}", headers=viewer).status_code == 404
    assert (
        client.put("/api/v1/aliases/not-an-ip", headers=admin, json={"alias": "x"}).status_code
        == 422
    )


@pytest.mark.parametrize(("direction", "channels"), [("stereo", 2), ("caller", 1), ("callee", 1)])
def test_audio_wav(
    client: TestClient, operator: dict[str, str], stack: Stack, direction: str, channels: int
) -> None:
    cid = cdr_id(stack.url, ULAW_CALL)
    rec = client.get(f"/api/v1/calls/{cid}", headers=operator).json()
    r = client.get(f"/api/v1/calls/{cid}/audio.wav?dir={direction}", headers=operator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(r.content)) as w:
        rate, nch, width, nframes = (
            w.getframerate(),
            w.getnchannels(),
            w.getsampwidth(),
            w.getnframes(),
        )
        frames = w.readframes(nframes)
    assert rate == 8000 and nch == channels and width == 2
    streams = [s for s in rec["streams"] if direction == "stereo" or s["direction"] == direction]
    span = max(ts(s["last_ts"]) for s in streams) - min(ts(s["first_ts"]) for s in streams)
    assert abs(nframes / 8000 - span) < 0.1, (nframes / 8000, span)
    assert any(frames[i] for i in range(0, len(frames), 97))  # not all silence


def test_audio_without_payload_is_404(
    client: TestClient, operator: dict[str, str], stack: Stack
) -> None:
    cid = cdr_id(stack.url, TCP_CALL, SENSOR_C)
    r = client.get(f"/api/v1/calls/{cid}/audio.wav", headers=operator)
    assert r.status_code == 404
    assert r.json() == {
        "error": "no_audio",
        "field": None,
        "message": "the pcap holds no RTP payload (recorded in SIP-only or header-only spool mode)",
    }


def test_rtp_series(client: TestClient, viewer: dict[str, str], stack: Stack) -> None:
    cid = cdr_id(stack.url, G711_CALL)
    rec = client.get(f"/api/v1/calls/{cid}", headers=viewer).json()
    series = client.get(f"/api/v1/calls/{cid}/rtp-series", headers=viewer).json()
    assert len(series["streams"]) == len(rec["streams"])
    for s, stream in zip(series["streams"], rec["streams"], strict=True):
        assert sum(x["packets"] for x in s["seconds"]) == stream["packets"]
        assert max(x["jitter_ms_max"] for x in s["seconds"]) == pytest.approx(
            stream["max_jitter_ms"], abs=1.0
        )
        assert s["seconds"][0]["offset_s"] >= 0


def test_legs_same_call_id_on_two_sensors(
    client: TestClient, viewer: dict[str, str], stack: Stack
) -> None:
    a, c = cdr_id(stack.url, TCP_CALL, SENSOR_A), cdr_id(stack.url, TCP_CALL, SENSOR_C)
    legs = client.get(f"/api/v1/calls/{a}/legs", headers=viewer).json()["items"]
    assert [leg["id"] for leg in legs] == [c] and legs[0]["link"] == "same-call-id"
    one = client.get(f"/api/v1/calls/{a}/sip", headers=viewer).json()["items"]
    both = client.get(f"/api/v1/calls/{a}/sip?legs=1", headers=viewer).json()["items"]
    assert len(both) == 2 * len(one)
    assert {m["leg_id"] for m in both} == {a, c}
    assert [m["ts"] for m in both] == sorted(m["ts"] for m in both)


def test_sensor_scope_hides_other_sensors(client: TestClient, stack: Stack) -> None:
    scoped = login(client, "scoped", "V1ewer-secret-pass")
    cid = cdr_id(stack.url, G711_CALL)
    assert client.get(f"/api/v1/calls/{cid}", headers=scoped).status_code == 404
    assert client.get(f"/api/v1/calls/{cid}/sip", headers=scoped).status_code == 404
