"""``callsift db migrate`` and ``callsift db maintain`` as an operator runs them."""

from __future__ import annotations

import pytest

from tests.db.mariadb import ensure_server, url_of
from tests.sniffer.cli.test_analyze import callsift


def test_migrate_is_idempotent_and_maintain_runs(fresh_db: str) -> None:
    url = url_of(fresh_db)
    first = callsift("db", "migrate", "--db", url)
    assert (first.returncode, first.stdout.strip()) == (0, "applied migrations 1"), first.stderr
    again = callsift("db", "migrate", "--db", url)
    assert (again.returncode, again.stdout.strip()) == (0, "schema is up to date")
    m = callsift("db", "maintain", "--db", url, "--retention-days", "30", "--days-ahead", "10")
    assert m.returncode == 0, m.stderr
    assert "cdr: created 3 partitions" in m.stdout  # 7 days ahead exist after migrate


def test_database_from_the_environment(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_DB_URL", url_of(fresh_db))
    r = callsift("db", "migrate")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:wrong@127.0.0.1:3306/x", "callsift: cannot connect to MySQL at 127.0.0.1:3306 as root: Access denied"),
        ("mysql://root@127.0.0.1:1/x", "callsift: cannot connect to MySQL at 127.0.0.1:1 as root: connection refused"),
        ("mysql://root@127.0.0.1:3306/", "callsift: database URL has no database name"),
    ],
)  # fmt: skip
def test_errors_are_one_line(url: str, message: str) -> None:
    ensure_server()
    r = callsift("db", "migrate", "--db", url)
    assert r.returncode == 1
    assert r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
