"""``callsift sniff`` refuses a user's mistakes with one line and a non-zero exit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.db.mariadb import db_url, ensure_server  # noqa: F401  (fixture)
from tests.sniffer.cli.test_analyze import callsift

pytestmark = pytest.mark.slow  # one callsift process per test


def sniff(*args: str) -> tuple[int, str]:
    r = callsift("sniff", "--metrics-listen", "127.0.0.1:0", *args)
    return r.returncode, r.stderr.strip()


def _one_line(rc: int, err: str) -> str:
    assert rc == 1, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_unknown_interface(tmp_path: Path) -> None:
    err = _one_line(
        *sniff("-i", "eth9x", "--db", "mysql://u@127.0.0.1:3306/x", "--spool", str(tmp_path))
    )
    assert err.startswith("callsift: interface 'eth9x' does not exist (available: ")


def test_bad_bpf(tmp_path: Path) -> None:
    err = _one_line(
        *sniff(
            "-i", "lo", "--bpf", "udp port abc", "--db", "mysql://u@h/x", "--spool", str(tmp_path)
        )
    )
    assert err == "callsift: bad BPF filter 'udp port abc': unknown port 'abc'"


def test_unwritable_spool(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("")
    err = _one_line(*sniff("-i", "lo", "--db", "mysql://u@h/x", "--spool", str(blocker / "s")))
    assert "spool directory" in err and "not writable" in err


def test_no_database_and_bad_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLSIFT_DB_URL", raising=False)
    err = _one_line(*sniff("-i", "lo", "--spool", str(tmp_path)))
    assert "no database: pass --db" in err
    err = _one_line(*sniff("-i", "lo", "--spool", str(tmp_path), "--db", "postgres://x"))
    assert "db_url" in err and "mysql://" in err


def test_wrong_credentials(tmp_path: Path) -> None:
    ensure_server()
    err = _one_line(
        *sniff("-i", "lo", "--spool", str(tmp_path), "--db", "mysql://root:wrong@127.0.0.1:3306/x")
    )
    assert "Access denied" in err


def test_schema_missing(tmp_path: Path) -> None:
    ensure_server()
    err = _one_line(
        *sniff("-i", "lo", "--spool", str(tmp_path), "--db", "mysql://root@127.0.0.1:3306/mysql")
    )
    assert "callsift db migrate" in err


def test_no_capture_permission(tmp_path: Path) -> None:
    r = __import__("subprocess").run(
        ["setpriv", "--inh-caps=-all", "--bounding-set=-net_raw,-net_admin", sys.executable,
         "-m", "sniffer.cli.main", "sniff", "-i", "lo", "--db", "mysql://u@h/x", "--spool", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    err = _one_line(r.returncode, r.stderr.strip())
    assert "needs root or CAP_NET_RAW" in err
