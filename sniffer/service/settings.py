"""Configuration of ``callsift sniff``: environment (``CALLSIFT_*``), an optional TOML file,
and command-line flags, in rising priority. deploy/sensor.example.toml documents every key."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from db.url import parse_db_url
from sniffer.capture.live import DEFAULT_BPF
from sniffer.spool.spool import SpoolMode


class SettingsError(Exception):
    """Bad configuration: the message names the key and the problem."""


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


class SensorSettings(BaseSettings):
    """Everything a sensor needs; see deploy/sensor.example.toml."""

    model_config = SettingsConfigDict(env_prefix="CALLSIFT_", extra="forbid")

    db_url: str = Field(description="mysql://USER:PASSWORD@HOST:PORT/DATABASE")
    sensor_id: int = Field(1, ge=1, le=65535)
    sensor_name: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    interfaces: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["any"])
    bpf: str = DEFAULT_BPF
    snaplen: int = Field(65535, ge=64, le=262144)
    buffer_mb: int = Field(32, ge=1, le=4096)
    promisc: bool = True
    sip_tcp_ports: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [5060, 5061, 5080]
    )
    call_timeout_s: float = Field(300.0, gt=0)
    spool_dir: Path = Path("/var/spool/callsift")
    spool_mode: SpoolMode = SpoolMode.SIP_RTP
    spool_gzip: bool = False
    spool_max_gb: float = Field(10.0, ge=0, description="0: no size limit")
    spool_max_age_days: float = Field(14.0, ge=0, description="0: no age limit")
    db_retention_days: int = Field(90, ge=0, description="0: keep CDRs forever")
    journal_max_mb: int = Field(1024, ge=1)
    metrics_listen: str = "127.0.0.1:9108"
    heartbeat_s: float = Field(10.0, gt=0)
    shutdown_timeout_s: float = Field(20.0, gt=0)

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        parse_db_url(v)  # ValueError with the precise problem
        return v

    @field_validator("interfaces", mode="before")
    @classmethod
    def _interfaces(cls, v: Any) -> Any:
        return _split(v)

    @field_validator("sip_tcp_ports", mode="before")
    @classmethod
    def _ports(cls, v: Any) -> Any:
        v = _split(v)
        if isinstance(v, list):
            for p in v:
                if not str(p).isdigit() or not 0 < int(p) < 65536:
                    raise ValueError(f"not a port number: {p!r}")
        return v

    @field_validator("interfaces")
    @classmethod
    def _nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one interface is needed")
        return v

    @field_validator("metrics_listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, _, port = v.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"must be HOST:PORT, got {v!r}")
        return v

    @property
    def metrics_host_port(self) -> tuple[str, int]:
        host, _, port = self.metrics_listen.rpartition(":")
        return host.strip("[]"), int(port)

    _toml_file: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file))
        return tuple(sources)


def load_settings(config_file: str | None, **overrides: Any) -> SensorSettings:
    """Settings from flags (``overrides``, None values ignored) > env > TOML file > defaults.

    Raises :class:`SettingsError` with one line per problem, naming the key.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    path: Path | None = None
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise SettingsError(f"config file {config_file}: no such file")

    class _Settings(SensorSettings):
        _toml_file = path

    try:
        return _Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise SettingsError(f"config file {config_file}: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        env = f"CALLSIFT_{key.upper()}"
        if err["type"] == "missing":
            if key == "db_url":
                lines.append(
                    "no database: pass --db mysql://USER:PASSWORD@HOST:PORT/DATABASE "
                    "or set CALLSIFT_DB_URL"
                )
            else:
                lines.append(f"{key} is required (or {env})")
        elif err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r}")
        else:
            lines.append(f"{key} ({env}): {err['msg']}")
    return "; ".join(lines)
