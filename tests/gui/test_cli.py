"""``callsift gui`` refuses to start without its key, naming the setting."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from db.errors import ConfigError
from db.settings import load_settings
from gui.cli import config_of


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("callsift")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLSIFT_")}
    return subprocess.run(
        [str(exe), "gui", *args], capture_output=True, text=True, timeout=60, env=clean | env
    )


@pytest.mark.slow  # a callsift process
def test_refuses_to_start_without_a_secret_key() -> None:
    r = _run("--api", "http://127.0.0.1:9", "--port", "1", env={})
    assert r.returncode == 1
    assert "gui.secret_key is required (set CALLSIFT_GUI_SECRET_KEY" in r.stderr


@pytest.mark.slow  # a callsift process
def test_refuses_a_short_key() -> None:
    r = _run("--port", "1", env={"CALLSIFT_GUI_SECRET_KEY": "short"})
    assert r.returncode == 1
    assert "gui.secret_key (CALLSIFT_GUI_SECRET_KEY): must be at least 32 characters" in r.stderr


def test_the_api_key_name_is_taken_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLSIFT_GUI_SECRET_KEY", raising=False)
    monkeypatch.setenv("CALLSIFT_SECRET_KEY", "s" * 32)
    cfg = config_of(load_settings(None, {"gui.api_url": "http://api:8000"}))
    assert cfg.secret_key == "s" * 32 and cfg.api_base == "http://api:8000/api/v1"


def test_the_api_address_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSIFT_GUI_SECRET_KEY", "s" * 32)
    with pytest.raises(ConfigError, match="must be an http"):
        config_of(load_settings(None, {"gui.api_url": "api:8000"}))
