"""Capture import: upload, background analysis by `callsift analyze --db`, the import sensor."""

import time

from fastapi.testclient import TestClient

from tests.api.conftest import GOLDEN, Stack


def _wait(client: TestClient, h: dict[str, str], job: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/imports/{job}", headers=h).json()
        if body["state"] in ("done", "failed"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("import did not finish")


def test_import_multipart_yields_calls(
    client: TestClient, operator: dict[str, str], stack: Stack
) -> None:
    data = (GOLDEN / "sip_tcp_in_ipip.pcap").read_bytes()
    r = client.post(
        "/api/v1/imports",
        headers=operator,
        files={"file": ("customer trace.pcap", data, "application/vnd.tcpdump.pcap")},
    )
    assert r.status_code == 202, r.text
    assert r.headers["location"].endswith(r.json()["id"])
    done = _wait(client, operator, r.json()["id"])
    assert done["state"] == "done", done
    assert done["calls"] == 1 and done["filename"] == "customer_trace.pcap"
    assert done["size"] == len(data)
    assert not list(stack.config.uploads_dir.glob("*.upload"))  # type: ignore[union-attr]


def test_import_raw_body_bad_file(client: TestClient, operator: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/imports?filename=notes.txt",
        headers={**operator, "Content-Type": "application/octet-stream"},
        content=b"hello, this is not a capture",
    )
    assert r.status_code == 415
    assert r.json()["message"] == "not a pcap or pcapng file (gzip-compressed ones are fine)"
    damaged = (GOLDEN / "sip_tcp_in_ipip.pcap").read_bytes()[:30]
    r = client.post(
        "/api/v1/imports?filename=cut.pcap",
        headers={**operator, "Content-Type": "application/octet-stream"},
        content=damaged,
    )
    assert r.status_code == 202
    done = _wait(client, operator, r.json()["id"])
    assert done["state"] == "done" and done["calls"] == 0
    assert str(done["message"]).startswith(
        "0 calls imported; warning: cut.pcap: truncated at record 1"
    )


def test_import_needs_operator(client: TestClient, viewer: dict[str, str]) -> None:
    r = client.post("/api/v1/imports", headers=viewer, files={"file": ("a.pcap", b"x")})
    assert r.status_code == 403
