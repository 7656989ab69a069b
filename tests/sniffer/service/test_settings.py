"""Sensor settings: flags > environment > TOML file > defaults; bad values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sniffer.service.settings import SettingsError, load_settings
from sniffer.spool.spool import SpoolMode

URL = "mysql://sensor:pw@db:3306/callsift"


def test_defaults_and_required_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLSIFT_DB_URL", raising=False)
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    assert str(err.value) == (
        "no database: pass --db mysql://USER:PASSWORD@HOST:PORT/DATABASE or set CALLSIFT_DB_URL"
    )
    s = load_settings(None, db_url=URL)
    assert (s.interfaces, s.sensor_id, s.spool_mode) == (["any"], 1, SpoolMode.SIP_RTP)
    assert s.metrics_host_port == ("127.0.0.1", 9108)


def test_priority_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "sensor.toml"
    cfg.write_text(
        f'db_url = "{URL}"\nsensor_id = 3\nsensor_name = "from-file"\n'
        'interfaces = ["eth1", "eth2"]\nspool_max_gb = 2.5\n'
    )
    monkeypatch.setenv("CALLSIFT_SENSOR_ID", "4")
    monkeypatch.setenv("CALLSIFT_INTERFACES", "eth7,eth8")
    s = load_settings(str(cfg), sensor_name="from-flag")
    assert (s.sensor_id, s.sensor_name, s.interfaces) == (4, "from-flag", ["eth7", "eth8"])
    assert (s.db_url, s.spool_max_gb) == (URL, 2.5)


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "deploy" / "sensor.example.toml"
    s = load_settings(str(example))
    assert s.sensor_name == "pbx-edge-1" and s.interfaces == ["eth0"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sensor_id": 0}, "sensor_id (CALLSIFT_SENSOR_ID): Input should be greater than or equal to 1"),
        ({"metrics_listen": "9108"}, "metrics_listen (CALLSIFT_METRICS_LISTEN): Value error, must be HOST:PORT, got '9108'"),
        ({"sip_tcp_ports": "5060,abc"}, "sip_tcp_ports (CALLSIFT_SIP_TCP_PORTS): Value error, not a port number: 'abc'"),
        ({"spool_mode": "everything"}, "spool_mode (CALLSIFT_SPOOL_MODE): Input should be 'sip+rtp', 'sip' or 'rtp-headers'"),
    ],
)  # fmt: skip
def test_bad_values_name_the_key(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(None, db_url=URL, **overrides)
    assert str(err.value) == message


def test_unknown_key_and_missing_or_broken_file(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'db_url = "{URL}"\nsnaplenn = 100\n')
    with pytest.raises(SettingsError, match="unknown setting 'snaplenn'"):
        load_settings(str(cfg))
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(str(tmp_path / "nope.toml"))
    cfg.write_text("db_url = \n")
    with pytest.raises(SettingsError, match=f"config file {cfg}"):
        load_settings(str(cfg))
