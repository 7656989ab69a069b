"""The settings tree: flags > environment > TOML file > defaults; bad values name the key and
its environment variable; every key has one unique flat environment name."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from db.errors import ConfigError
from db.settings import (
    ENV_KEYS,
    SECTIONS,
    SIP_TCP_PORTS,
    Settings,
    SpoolMode,
    env_name,
    fields,
    load_settings,
)

URL = "mysql://sensor:pw@db:3306/callsift"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*ENV_KEYS, "CALLSIFT_CONFIG"]:
        monkeypatch.delenv(name, raising=False)


def test_defaults_and_required_db() -> None:
    s = load_settings(None)
    with pytest.raises(ConfigError) as err:
        s.storage.require_db_url()
    assert str(err.value) == (
        "no database: pass --db mysql://USER:PASSWORD@HOST:PORT/DATABASE or set CALLSIFT_DB_URL"
    )
    s = load_settings(None, {"storage.db_url": URL})
    assert (s.capture.interfaces, s.sensor.id, s.spool.mode) == (["any"], None, SpoolMode.SIP_RTP)
    assert (s.capture.interface_pool, s.sensor.health_file, s.spool.subdir) == (False, None, "")
    assert s.metrics.host_port == ("127.0.0.1", 9108)
    assert tuple(s.analysis.sip_tcp_ports) == SIP_TCP_PORTS


def test_priority_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sensor.toml"
    cfg.write_text(
        f'[storage]\ndb_url = "{URL}"\n[sensor]\nid = 3\nname = "from-file"\n'
        '[capture]\ninterfaces = ["eth1", "eth2"]\n[spool]\nmax_gb = 2.5\n'
    )
    monkeypatch.setenv("CALLSIFT_SENSOR_ID", "4")
    monkeypatch.setenv("CALLSIFT_INTERFACES", "eth7,eth8")
    s = load_settings(str(cfg), {"sensor.name": "from-flag"})
    assert (s.sensor.id, s.sensor.name, s.capture.interfaces) == (4, "from-flag", ["eth7", "eth8"])
    assert (s.storage.db_url, s.spool.max_gb) == (URL, 2.5)
    assert s.config_file == cfg


def test_config_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[analysis]\ncall_timeout_s = 60\n")
    monkeypatch.setenv("CALLSIFT_CONFIG", str(cfg))
    assert load_settings(None).analysis.call_timeout_s == 60.0


def test_every_existing_environment_name_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    old = {
        "CALLSIFT_DB_URL": (URL, "storage.db_url", URL),
        "CALLSIFT_HEARTBEAT_S": ("1", "sensor.heartbeat_s", 1.0),
        "CALLSIFT_SPOOL_MAX_GB": ("0", "spool.max_gb", 0.0),
        "CALLSIFT_SPOOL_MAX_AGE_DAYS": ("0", "spool.max_age_days", 0.0),
        "CALLSIFT_BUFFER_MB": ("64", "capture.buffer_mb", 64),
        "CALLSIFT_SIP_TCP_PORTS": ("5060, 7000", "analysis.sip_tcp_ports", [5060, 7000]),
        "CALLSIFT_SPOOL_GZIP": ("true", "spool.gzip", True),
        "CALLSIFT_JOURNAL_MAX_MB": ("10", "storage.journal_max_mb", 10),
        "CALLSIFT_DB_RETENTION_DAYS": ("30", "storage.retention_days", 30),
        "CALLSIFT_SHUTDOWN_TIMEOUT_S": ("5", "sensor.shutdown_timeout_s", 5.0),
    }
    for env, (value, _key, _want) in old.items():
        monkeypatch.setenv(env, value)
    s = load_settings(None)
    for env, (_value, key, want) in old.items():
        section, name = key.split(".")
        assert env_name(key) == env
        assert getattr(getattr(s, section), name) == want, key


def test_environment_names_are_flat_unique_and_prefixed() -> None:
    names = [env_name(key) for key, _ in fields()]
    assert len(names) == len(set(names)) == len(ENV_KEYS)
    assert all(n.startswith("CALLSIFT_") and n.isupper() and "__" not in n for n in names)


def test_empty_environment_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_SENSOR_ID", "")
    monkeypatch.setenv("CALLSIFT_SPOOL_MAX_GB", "")
    s = load_settings(None)
    assert (s.sensor.id, s.spool.max_gb) == (None, 10.0)


def test_a_misspelt_variable_warns_and_the_entrypoints_own_do_not(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The container entrypoints read CALLSIFT_DB_HOST, CALLSIFT_DB_NAME and
    CALLSIFT_SECRETS_DIR (services/common/secrets.sh), which compose hands every service."""
    for name in ("CALLSIFT_DB_HOST", "CALLSIFT_DB_NAME", "CALLSIFT_SECRETS_DIR"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("CALLSIFT_SPOOL_MAXGB", "3")
    with caplog.at_level("WARNING", logger="db.settings.tree"):
        load_settings(None)
    assert [r.getMessage() for r in caplog.records] == [
        "unknown environment variable CALLSIFT_SPOOL_MAXGB ignored (docs/CONFIG.md)"
    ]


def test_the_example_config_is_valid_and_complete() -> None:
    example = REPO / "deploy" / "sensor.example.toml"
    s = load_settings(str(example))
    assert s.sensor.name == "pbx-edge-1" and s.capture.interfaces == ["eth0"]
    with example.open("rb") as f:
        tables = tomllib.load(f)
    assert set(tables) <= set(SECTIONS)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"sensor.id": 0}, "sensor.id (CALLSIFT_SENSOR_ID): Input should be greater than or equal to 1"),
        ({"sensor.id": 70000}, "sensor.id (CALLSIFT_SENSOR_ID): Input should be less than or equal to 65535"),
        ({"metrics.listen": "9108"}, "metrics.listen (CALLSIFT_METRICS_LISTEN): must be HOST:PORT, got '9108'"),
        ({"analysis.sip_tcp_ports": "5060,abc"}, "analysis.sip_tcp_ports (CALLSIFT_SIP_TCP_PORTS): not a port number: 'abc'"),
        ({"spool.mode": "everything"}, "spool.mode (CALLSIFT_SPOOL_MODE): Input should be 'sip+rtp', 'sip' or 'rtp-headers'"),
        ({"storage.db_url": "postgres://x"}, "storage.db_url (CALLSIFT_DB_URL): database URL must start with mysql:// (form: mysql://USER:PASSWORD@HOST:PORT/DATABASE)"),
        ({"api.secret_key": "short"}, "api.secret_key (CALLSIFT_SECRET_KEY): must be at least 32 characters"),
    ],
)  # fmt: skip
def test_bad_values_name_the_key(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, flags)
    assert str(err.value) == message


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_DB_BATCH_SIZE", "many")
    with pytest.raises(ConfigError) as err:
        load_settings(None)
    assert str(err.value) == (
        "storage.batch_size (CALLSIFT_DB_BATCH_SIZE): Input should be a valid integer, "
        "unable to parse string as an integer"
    )


def test_unknown_key_and_missing_or_broken_file(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[storage]\ndb_url = "{URL}"\n[capture]\nsnaplenn = 100\n')
    with pytest.raises(ConfigError, match=r"^unknown setting 'snaplenn' in \[capture\]$"):
        load_settings(str(cfg))
    cfg.write_text(f'db_url = "{URL}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg))
    assert str(err.value) == "unknown setting 'db_url' (settings go in tables: [storage] db_url)"
    cfg.write_text("[capturing]\nx = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'capturing' \\(sections: sensor, "):
        load_settings(str(cfg))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(str(tmp_path / "nope.toml"))
    cfg.write_text("[storage]\ndb_url = \n")
    with pytest.raises(ConfigError, match=f"config file {cfg}: "):
        load_settings(str(cfg))


def test_secrets_are_required_where_used_and_never_shown() -> None:
    s = load_settings(None, {"storage.db_url": URL, "api.secret_key": "k" * 40})
    with pytest.raises(ConfigError) as err:
        s.require("gui.secret_key")
    assert str(err.value) == (
        "gui.secret_key is required (set CALLSIFT_GUI_SECRET_KEY or [gui] secret_key)"
    )
    assert s.require("api.secret_key").get_secret_value() == "k" * 40
    assert "k" * 40 not in repr(s) and "pw@" not in repr(s)


def test_settings_are_read_only() -> None:
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.sensor.id = 2  # type: ignore[misc]


def test_the_reference_documents_every_key_and_is_current() -> None:
    from db.settings.doc import render

    doc = (REPO / "docs" / "CONFIG.md").read_text()
    assert doc == render(), "docs/CONFIG.md is stale: run `make config-doc`"
    for key, info in fields():
        name = key.split(".")[1]
        assert f"| `{name}` | `{env_name(key)}` |" in doc, key
        assert info.description, f"{key} has no description"


def test_spool_subdir_is_a_relative_path() -> None:
    assert load_settings(None, {"spool.subdir": "/node-1/"}).spool.subdir == "node-1"
    with pytest.raises(ConfigError) as err:
        load_settings(None, {"spool.subdir": "a/../b"})
    assert str(err.value) == (
        "spool.subdir (CALLSIFT_SPOOL_SUBDIR): must be a relative path without "
        ". or .. parts, got 'a/../b'"
    )
