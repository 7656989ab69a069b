"""Building blocks of the settings tree: how a key declares its environment name and its doc
line, the shared value types and the constants other modules take their defaults from."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import NoDecode

ENV_PREFIX = "CALLSIFT_"
CONFIG_ENV = "CALLSIFT_CONFIG"
"""Path of the TOML file when ``--config`` is not given."""
OTHER_ENV = frozenset({
    CONFIG_ENV, "CALLSIFT_SENSOR_PASSWORD", "CALLSIFT_IMPL", "CALLSIFT_COMPILE",
    "CALLSIFT_DB_HOST", "CALLSIFT_DB_NAME", "CALLSIFT_SECRETS_DIR",
})  # fmt: skip
"""``CALLSIFT_*`` variables that are not settings (``db grant-sensor`` reads the password;
the compiled or pure hot path is chosen at import and at build time: sniffer/compiled.py,
setup.py; the container entrypoints build the database URL from the host, the database name
and the secrets directory: services/common/secrets.sh)."""

SIP_TCP_PORTS: tuple[int, ...] = (5060, 5061, 5080)
"""TCP (and SCTP) ports that carry SIP by default: RFC 3261 section 19.1.2 names 5060 and 5061
(sips); 5080 is the common alternative (e.g. FreeSWITCH's external profile)."""

MAX_CALLS = 100_000
"""Calls a sensor tracks at once by default (about 4 KB each unanswered, 20 KB with RTP)."""
MAX_REGISTRATIONS = 100_000
"""REGISTER attempts awaiting their answer, by default."""
MAX_WORKERS = 64
"""Worker processes of one sensor or ``analyze`` run, at most (``analysis.workers``)."""
AUTO_WORKERS_MAX = 8
"""``analysis.workers = 0`` takes the cores up to this many: past it the SIP every worker
parses and the parent's CDR assembly cost more than another share of RTP saves (see
docs/ARCHITECTURE.md "Workers"); set it higher explicitly on a bigger machine."""
AUTO_WORKERS_FILE_MB = 200
"""``analyze`` with ``analysis.workers = 0`` uses workers from this much capture on."""


class SpoolMode(StrEnum):
    """What a per-call pcap holds."""

    SIP_RTP = "sip+rtp"
    """SIP and RTP/RTCP frames, whole."""
    SIP = "sip"
    """SIP only: the caller does not write RTP."""
    RTP_HEADERS = "rtp-headers"
    """SIP whole, RTP/RTCP cut after the RTP header: the caller passes ``caplen``."""


def setting(default: Any = ..., *, env: str, doc: str, **kw: Any) -> Any:
    """A settings field with its environment name and its line in docs/CONFIG.md."""
    if not env.startswith(ENV_PREFIX):
        raise ValueError(f"environment name {env!r} must start with {ENV_PREFIX}")
    return Field(default, description=doc, json_schema_extra={"env": env}, **kw)


def split_list(value: Any) -> Any:
    """``"a, b"`` (environment) -> ``["a", "b"]``; lists pass through."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def port_list(value: Any) -> Any:
    value = split_list(value)
    if isinstance(value, list | tuple):
        for p in value:
            if isinstance(p, bool) or not str(p).isdigit() or not 0 < int(p) < 65536:
                raise ValueError(f"not a port number: {p!r}")
    return value


Ports = Annotated[list[int], NoDecode]


def parse_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"must be HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def secret_key_of(v: SecretStr | None) -> SecretStr | None:
    if v is not None and len(v.get_secret_value()) < 32:
        raise ValueError("must be at least 32 characters")
    return v


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
