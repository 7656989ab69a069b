"""The ``mirror`` (packet mirroring, sender and receiver) and ``hep`` sections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode

from db.settings.base import Section, parse_host_port, setting, split_list

HEP_PORT = 9060
"""The HEP collectors' customary port (HOMER, heplify-server)."""
MIRROR_PORT = 9070
"""The mirror receiver's port in the examples and the compose profile."""


def hep_target(value: str) -> tuple[str, str, int]:
    """``udp:HOST:PORT`` or ``tcp:HOST:PORT`` -> ``(proto, host, port)``."""
    proto, _, rest = value.partition(":")
    if proto not in ("udp", "tcp") or not rest:
        raise ValueError(f"must be udp:HOST:PORT or tcp:HOST:PORT, got {value!r}")
    host, port = parse_host_port(rest)
    return proto, host, port


class MirrorSettings(Section):
    """Packet mirroring: ``callsift mirror-send`` and the receiver (``sniff --mirror-listen``)."""

    to: Annotated[list[str], NoDecode] = setting(
        default_factory=list, env="CALLSIFT_MIRROR_TO",
        doc="Sender: receivers as `HOST:PORT`, comma-separated; the first one, then the "
        "others as failovers.",
    )  # fmt: skip
    secret: SecretStr | None = setting(
        None, env="CALLSIFT_MIRROR_SECRET",
        doc="Sender: this sensor's own secret (at least 16 characters; never logged).",
    )  # fmt: skip
    buffer_mb: int = setting(
        64, env="CALLSIFT_MIRROR_BUFFER_MB", ge=1,
        doc="Sender: memory for frames not yet acknowledged, MiB.",
    )  # fmt: skip
    disk_buffer_dir: Path | None = setting(
        None, env="CALLSIFT_MIRROR_DISK_BUFFER_DIR",
        doc="Sender: where frames beyond the memory buffer wait (none: they are dropped, "
        "oldest first, and counted).",
    )  # fmt: skip
    disk_buffer_mb: int = setting(
        1024, env="CALLSIFT_MIRROR_DISK_BUFFER_MB", ge=1,
        doc="Sender: size limit of the disk buffer, MiB (beyond: oldest dropped and counted).",
    )  # fmt: skip
    tls: bool = setting(
        False, env="CALLSIFT_MIRROR_TLS",
        doc="TLS on the mirror stream (sender: the receiver's certificate is checked).",
    )  # fmt: skip
    tls_ca: Path | None = setting(
        None, env="CALLSIFT_MIRROR_TLS_CA",
        doc="Sender: CA file the receiver's certificate is checked against (none: the "
        "system's).",
    )  # fmt: skip
    tls_cert: Path | None = setting(
        None, env="CALLSIFT_MIRROR_TLS_CERT", doc="Receiver: certificate chain file (PEM)."
    )
    tls_key: Path | None = setting(
        None, env="CALLSIFT_MIRROR_TLS_KEY", doc="Receiver: private key file (PEM)."
    )
    listen: str | None = setting(
        None, env="CALLSIFT_MIRROR_LISTEN",
        doc=f"Receiver: `HOST:PORT` the mirror receiver listens on (e.g. `0.0.0.0:{MIRROR_PORT}`).",
    )  # fmt: skip
    secrets_file: Path | None = setting(
        None, env="CALLSIFT_MIRROR_SECRETS",
        doc="Receiver: one `NAME SECRET` pair per line, one per sender (not readable by "
        "others); required with `listen`.",
    )  # fmt: skip
    metrics_listen: str | None = setting(
        None, env="CALLSIFT_MIRROR_METRICS_LISTEN",
        doc="Receivers (mirror, HEP) beside capture in one process: `HOST:PORT` of their own "
        "`/metrics` and `/health` (alone they answer on `metrics.listen`).",
    )  # fmt: skip
    read_timeout_s: float = setting(
        30.0, env="CALLSIFT_MIRROR_READ_TIMEOUT_S", gt=0,
        doc="Receiver: a connection silent this long (or stalled inside a frame) is closed.",
    )  # fmt: skip
    split_adopt_s: float = setting(
        300.0, env="CALLSIFT_MIRROR_SPLIT_ADOPT_S", ge=0,
        doc="Receiver: after taking a sender over mid-stream (frames acknowledged by another "
        "receiver), for this many seconds of the sender's capture time the in-dialog SIP of "
        "calls begun elsewhere makes calls flagged `mirror_split` (0: never; default: the "
        "default call timeout).",
    )  # fmt: skip
    max_senders: int = setting(
        256, env="CALLSIFT_MIRROR_MAX_SENDERS", ge=1,
        doc="Receiver: connections at once (beyond: refused and counted).",
    )  # fmt: skip
    queue_batches: int = setting(
        16, env="CALLSIFT_MIRROR_QUEUE_BATCHES", ge=1,
        doc="Receiver: batches queued per connection before it stops reading (backpressure).",
    )  # fmt: skip

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> Any:
        v = split_list(v)
        for item in v if isinstance(v, list) else ():
            parse_host_port(str(item))
        return v

    @field_validator("listen", "metrics_listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is not None:
            parse_host_port(v)
        return v

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v


class HepSettings(Section):
    """HEP (Homer Encapsulation Protocol) in and out."""

    listen: Annotated[list[str], NoDecode] = setting(
        default_factory=list, env="CALLSIFT_HEP_LISTEN",
        doc=f"`udp:HOST:PORT` / `tcp:HOST:PORT` HEP listeners, comma-separated (HEP's port is "
        f"{HEP_PORT}).",
    )  # fmt: skip
    auth_keys_file: Path | None = setting(
        None, env="CALLSIFT_HEP_AUTH_KEYS",
        doc="`CAPTURE_ID KEY` per line: packets of a listed capture id must carry that auth "
        "key (wrong or missing: counted and dropped).",
    )  # fmt: skip
    out: str | None = setting(
        None, env="CALLSIFT_HEP_OUT",
        doc="`udp:HOST:PORT` / `tcp:HOST:PORT` of a HOMER collector: SIP of every sensor is "
        "copied there as HEPv3.",
    )  # fmt: skip
    out_capture_id: int = setting(
        2001, env="CALLSIFT_HEP_OUT_CAPTURE_ID", ge=0, le=0xFFFFFFFF,
        doc="Capture id of the HEP packets sent.",
    )  # fmt: skip
    out_auth_key: SecretStr | None = setting(
        None, env="CALLSIFT_HEP_OUT_AUTH_KEY", doc="Auth key of the HEP packets sent."
    )

    @field_validator("listen", mode="before")
    @classmethod
    def _listen(cls, v: Any) -> Any:
        v = split_list(v)
        for item in v if isinstance(v, list) else ():
            hep_target(str(item))
        return v

    @field_validator("out")
    @classmethod
    def _out(cls, v: str | None) -> str | None:
        if v is not None:
            hep_target(v)
        return v
