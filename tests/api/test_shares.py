"""Share links: work without login, reach one call only, expire, count, revoke, redact."""

import io
import subprocess
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import Stack, cdr_id
from tests.api.test_call_files import ULAW_CALL


def _share(client: TestClient, h: dict[str, str], cid: int, **body: object) -> dict[str, object]:
    r = client.post(f"/api/v1/calls/{cid}/share", headers=h, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_share_pack_without_login(
    client: TestClient, operator: dict[str, str], stack: Stack, tmp_path: Path
) -> None:
    cid = cdr_id(stack.url, ULAW_CALL)
    link = _share(client, operator, cid, max_downloads=3)
    url = str(link["url"])
    info = client.get(url)
    assert info.status_code == 200 and info.json()["downloads_left"] == 3
    z = client.get(url + "/evidence.zip")
    assert z.status_code == 200
    pack = zipfile.ZipFile(io.BytesIO(z.content))
    assert sorted(pack.namelist()) == [
        "README.txt",
        "audio.wav",
        "call.pcap",
        "sip-flow.txt",
        "summary.json",
    ]
    (tmp_path / "c.pcap").write_bytes(pack.read("call.pcap"))
    r = subprocess.run(
        ["tshark", "-r", str(tmp_path / "c.pcap"), "-Y", "sip"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "INVITE" in r.stdout
    assert ULAW_CALL in pack.read("sip-flow.txt").decode()
    assert client.get(url + "/summary.json").status_code == 200
    assert client.get(url + "/call.pcap").status_code == 200
    assert client.get(url + "/call.pcap").status_code == 410  # used up
    assert client.get(url).status_code == 410
    # nothing else is reachable with it
    h = {"Authorization": f"Bearer {link['token']}"}
    assert client.get(f"/api/v1/calls/{cid}", headers=h).status_code == 401
    assert client.get(url + "/../../calls").status_code in (401, 404)
    assert client.get("/api/v1/share/" + "A" * 43).status_code == 404


def test_share_revoke_and_roles(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str], stack: Stack
) -> None:
    cid = cdr_id(stack.url, ULAW_CALL)
    assert client.post(f"/api/v1/calls/{cid}/share", headers=viewer, json={}).status_code == 403
    link = _share(client, operator, cid)
    assert client.delete(f"/api/v1/shares/{link['id']}", headers=operator).status_code == 204
    assert client.get(str(link["url"])).status_code == 410
    listed = client.get(f"/api/v1/calls/{cid}/shares", headers=operator).json()["items"]
    assert any(s["id"] == link["id"] and s["revoked_at"] for s in listed)
    assert all("token" not in s for s in listed)


def test_share_redaction(
    client: TestClient, operator: dict[str, str], stack: Stack, tmp_path: Path
) -> None:
    cid = cdr_id(stack.url, ULAW_CALL)
    rec = client.get(f"/api/v1/calls/{cid}", headers=operator).json()
    ip = rec["caller_ip"]
    link = _share(client, operator, cid, redact_ips=[ip], mask_numbers=True, keep_digits=2)
    pack = zipfile.ZipFile(io.BytesIO(client.get(str(link["url"]) + "/evidence.zip").content))
    text = pack.read("sip-flow.txt").decode() + pack.read("summary.json").decode()
    assert ip not in text
    assert f"sip:{rec['caller']}@" not in text and rec["caller"][-2:] in text
    pcap = tmp_path / "r.pcap"
    pcap.write_bytes(pack.read("call.pcap"))
    r = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "sip.Method",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ip not in r.stdout and "INVITE" in r.stdout
    bad = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-Y",
            "_ws.expert.severity >= error",
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bad.stdout == ""
