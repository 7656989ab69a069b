"""What a new user tripped over (issue 6 item 8): --version, --help with defaults and exit codes,
the usage of the right command, options that need another, filters and sort of analyze."""

from __future__ import annotations

import json
import re

import pytest

from sniffer.cli.main import build_parser
from sniffer.version import version_line
from tests.sniffer.cli.test_analyze import TCP_CALL, callsift, records
from tests.sniffer.golden import GOLDEN

pytestmark = pytest.mark.slow  # one callsift process per test

MANY = GOLDEN / "sip_register_auth_cancel_aaa.pcap"
"""4 calls and 7 registrations of 3 users."""
DB = "mysql://root@127.0.0.1:3306/x"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_version() -> None:
    r = callsift("--version")
    assert (r.returncode, r.stdout.strip()) == (0, version_line())
    assert r.stdout.startswith("callsift ") and (
        "(compiled (mypyc))" in r.stdout or "(pure Python" in r.stdout
    )


@pytest.mark.parametrize(
    "command",
    [(), ("analyze",), ("sniff",), ("db",), ("db", "migrate"), ("db", "maintain"),
     ("db", "grant-sensor")],
)  # fmt: skip
def test_every_help_says_the_exit_codes(command: tuple[str, ...]) -> None:
    r = callsift(*command, "--help")
    assert r.returncode == 0, r.stderr
    assert "exit codes: 0 success; 1 error" in " ".join(r.stdout.split())


def test_sniff_help_gives_meaning_default_and_variable_of_every_option() -> None:
    sniff = build_parser()._subparsers._group_actions[0].choices["sniff"]  # type: ignore[union-attr]
    for action in sniff._actions:
        if action.dest in ("help", "config"):
            continue
        assert action.help, action.dest
        assert re.search(r"\(default: [^;]+; env CALLSIFT_[A-Z_]+\)$", action.help), action.help


def test_an_unknown_option_shows_the_usage_of_its_command() -> None:
    r = callsift("analyze", "--bogus", str(TCP_CALL))
    assert r.returncode == 2
    assert r.stderr.startswith("usage: callsift analyze ")
    assert r.stderr.strip().endswith("callsift analyze: error: unrecognized arguments: --bogus")


def test_db_takes_a_url_never_the_file_name() -> None:
    r = callsift("analyze", "--json", "--db", str(TCP_CALL))
    assert r.returncode == 2
    assert r.stderr.strip().endswith(
        "callsift analyze: error: argument --db: expected a database URL "
        f"mysql://USER:PASSWORD@HOST:PORT/DATABASE, got '{TCP_CALL}'"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--journal", "/tmp/j"), "callsift: --journal needs --db URL (or --write-db)"),
        (("--sensor-id", "3"), "callsift: --sensor-id needs --db URL (or --write-db)"),
        (("--spool-gzip",), "callsift: --spool-gzip needs --spool DIR"),
        (("--spool-mode", "sip"), "callsift: --spool-mode needs --spool DIR"),
        (("--sort", "time"), "callsift: --sort time needs --json (the tables are by time)"),
    ],
)
def test_options_that_need_another_are_refused(args: tuple[str, ...], message: str) -> None:
    r = callsift("analyze", *args, str(TCP_CALL))
    assert (r.returncode, one_line(r.stderr)) == (2, message)
    assert r.stdout == ""


@pytest.mark.parametrize("bad", ["0", "70000"])
@pytest.mark.parametrize("command", ["analyze", "sniff"])
def test_one_validation_of_the_sensor_id(command: str, bad: str) -> None:
    """``analyze --db`` refuses what ``sniff`` refuses, with the same line, before any work."""
    args = [str(TCP_CALL)] if command == "analyze" else ["-i", "lo", "--spool", "/nonexistent"]
    r = callsift(command, "--db", DB, "--sensor-id", bad, *args)
    limit = "greater than or equal to 1" if bad == "0" else "less than or equal to 65535"
    assert (r.returncode, one_line(r.stderr)) == (
        1,
        f"callsift: sensor.id (CALLSIFT_SENSOR_ID): Input should be {limit}",
    )


def test_the_sensor_id_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLSIFT_SENSOR_ID", "0")
    r = callsift("analyze", "--json", str(TCP_CALL))
    assert r.returncode == 1 and "sensor.id (CALLSIFT_SENSOR_ID)" in r.stderr


def _summary(stdout: str) -> list[tuple[str, str]]:
    return [(str(r["type"]), str(r.get("call_id"))) for r in records(stdout)]


def test_call_id_filter() -> None:
    r = callsift("analyze", "--json", "--call-id", "85216695-42dcdb1d@192.168.1.2", str(MANY))
    assert r.returncode == 0, r.stderr
    assert _summary(r.stdout) == [("call", "85216695-42dcdb1d@192.168.1.2")]
    r = callsift(
        "analyze", "--json", "--call-id", "29858147-465b0752@29858051-465b07b2",
        "--call-id", "11894297-4432a9f8@192.168.1.2", str(MANY),
    )  # fmt: skip
    assert sorted(set(_summary(r.stdout))) == [
        ("call", "11894297-4432a9f8@192.168.1.2"),
        ("registration", "29858147-465b0752@29858051-465b07b2"),
    ]


def test_number_filter_matches_caller_or_called_by_prefix() -> None:
    r = callsift("analyze", "--json", "--number", "3510472", str(MANY))
    assert r.returncode == 0, r.stderr
    recs = records(r.stdout)
    calls = [(c["caller"], c["called"]) for c in recs if c["type"] == "call"]
    assert calls == [("35104723", "0097239287044"), ("35104723", "35104724")]
    assert {g["user"] for g in recs if g["type"] == "registration"} == {"35104723"}
    called = callsift("analyze", "--json", "--number", "97239", str(MANY))
    assert [c["called"] for c in records(called.stdout)] == ["97239287044"]
    none = callsift("analyze", "--number", "999", str(MANY))
    assert none.returncode == 0 and "Calls (0)" in none.stdout


def test_json_sorted_by_start_time() -> None:
    def start(r: dict[str, object]) -> float:
        value = r.get("invite_ts", r.get("ts", r.get("first_ts")))
        assert isinstance(value, float)
        return value

    plain = records(callsift("analyze", "--json", str(MANY)).stdout)
    by_time = records(callsift("analyze", "--json", "--sort", "time", str(MANY)).stdout)
    assert [start(r) for r in plain] != sorted(start(r) for r in plain)  # completion order
    assert [start(r) for r in by_time] == sorted(start(r) for r in plain)
    assert sorted(map(json.dumps, by_time)) == sorted(map(json.dumps, plain))
