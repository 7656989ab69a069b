"""TLS to MySQL for real: a private mariadbd with a certificate from a test CA, a sensor user
created with ``--require-tls``, and the URL's ssl options deciding what connects."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.connect import connect
from db.errors import DbError, DbRejected
from db.url import parse_db_url
from tests.sniffer.cli.test_analyze import callsift

MARIADBD = "/usr/sbin/mariadbd"

pytestmark = (
    pytest.mark.slow
)  # its own mariadbd: mariadb-install-db, two test PKIs (openssl), a server boot


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path, name: str = "ca") -> None:
    """A CA and a server certificate for 127.0.0.1 (only) signed by it."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN=callsift test {name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             cwd=d)  # fmt: skip
    if name != "ca":
        return
    (d / "san.cnf").write_text("subjectAltName = IP:127.0.0.1\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem",
             cwd=d)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A throw-away mariadbd on 127.0.0.1:<free port> with TLS; root over its socket."""
    for tool in ("openssl", "mariadb-install-db", MARIADBD):
        assert shutil.which(tool), f"{tool} is needed"
    d = tmp_path_factory.mktemp("tls")
    make_pki(d)
    make_pki(d, "other-ca")
    data = d / "data"
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=socket", "--skip-test-db"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [MARIADBD, "--no-defaults", f"--datadir={data}", "--user=root",
         f"--socket={d}/mysqld.sock", f"--pid-file={d}/mysqld.pid", f"--port={port}",
         "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
         f"--ssl-ca={d}/ca.pem", f"--ssl-cert={d}/server.pem", f"--ssl-key={d}/server.key"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (d / "mysqld.sock").exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the TLS mariadbd did not start"
            time.sleep(0.1)
        yield port, d
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_sensor_user_with_required_tls(tls_server: tuple[int, Path]) -> None:
    port, d = tls_server
    admin = f"mysql://root@localhost/callsift?unix_socket={d}/mysqld.sock"
    assert callsift("db", "migrate", "--db", admin).returncode == 0
    env = {**os.environ, "CALLSIFT_SENSOR_PASSWORD": "edge-pw"}
    r = subprocess.run(
        [*callsift_cmd(), "db", "grant-sensor", "--db", admin, "--user", "edge1",
         "--require-tls"], env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    base = f"mysql://edge1:edge-pw@127.0.0.1:{port}/callsift"

    async def cipher(url: str) -> str:
        conn = await connect(parse_db_url(url))
        try:
            async with conn.cursor() as cur:
                await cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                row = await cur.fetchone()
        finally:
            conn.close()
        return str(row[1])

    assert asyncio.run(cipher(f"{base}?ssl_ca={d}/ca.pem"))  # verify_identity
    assert asyncio.run(cipher(f"{base}?ssl_mode=verify_ca&ssl_ca={d}/ca.pem"))
    assert asyncio.run(cipher(f"{base}?ssl_mode=required"))
    # no TLS: the account refuses; a certificate from another CA: a permanent failure
    with pytest.raises(DbError, match="Access denied for user 'edge1'"):
        asyncio.run(cipher(base))
    with pytest.raises(DbError) as err:
        asyncio.run(cipher(f"{base}?ssl_ca={d}/other-ca.pem"))
    assert "certificate verify failed" in str(err.value)
    assert isinstance(err.value, DbRejected)  # not retried as an outage
    # the certificate names 127.0.0.1, not localhost: verify_identity refuses the name,
    # verify_ca accepts it
    by_name = f"mysql://edge1:edge-pw@localhost:{port}/callsift?ssl_ca={d}/ca.pem"
    with pytest.raises(DbError) as err:
        asyncio.run(cipher(by_name))
    assert "certificate verify failed" in str(err.value) and "mismatch" in str(err.value)
    assert asyncio.run(cipher(by_name + "&ssl_mode=verify_ca"))


def callsift_cmd() -> list[str]:
    import sys

    return [sys.executable, "-m", "sniffer.cli.main"]
