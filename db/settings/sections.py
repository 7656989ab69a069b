"""The sections of the settings tree, one model each (docs/CONFIG.md is generated from them):
the sensor's here, ``api`` and ``gui`` in :mod:`db.settings.web`, ``diagnosis`` in
:mod:`db.settings.diagnosis`, ``mirror`` and ``hep`` in :mod:`db.settings.mirror`."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode

from db.errors import ConfigError
from db.settings.base import (
    AUTO_WORKERS_FILE_MB,
    AUTO_WORKERS_MAX,
    MAX_CALLS,
    MAX_REGISTRATIONS,
    MAX_WORKERS,
    SIP_TCP_PORTS,
    Ports,
    Section,
    SpoolMode,
    parse_host_port,
    port_list,
    setting,
    split_list,
)
from db.settings.diagnosis import DiagnosisSettings
from db.settings.mirror import HepSettings, MirrorSettings
from db.settings.web import ApiSettings, GuiSettings
from db.url import URL_FORM, parse_db_url


class SensorSettings(Section):
    """Identity of the sensor and its service timers."""

    id: int | None = setting(
        None, env="CALLSIFT_SENSOR_ID", ge=1, le=65535,
        doc="Sensor id on every CDR and in the `sensors` table (1..65535, unique per site). "
        "Unset: claimed automatically in the database for the sensor's own identity (kept in "
        "`<spool.dir>/.sensor/`), the same on every restart.",
    )  # fmt: skip
    name: str = setting(
        env="CALLSIFT_SENSOR_NAME", min_length=1, max_length=64,
        default_factory=lambda: socket.gethostname()[:64] or "sensor",
        doc="Sensor name shown in the GUI (default: the host name).",
    )  # fmt: skip
    heartbeat_s: float = setting(
        10.0, env="CALLSIFT_HEARTBEAT_S", gt=0,
        doc="Seconds between heartbeats (sensor row and live calls in the database).",
    )  # fmt: skip
    shutdown_timeout_s: float = setting(
        20.0, env="CALLSIFT_SHUTDOWN_TIMEOUT_S", gt=0,
        doc="On SIGTERM, seconds to flush calls, CDRs and pcaps before exiting anyway.",
    )  # fmt: skip
    health_file: Path | None = setting(
        None, env="CALLSIFT_HEALTH_FILE",
        doc="A JSON status file for container healthchecks: `starting`, `standby`, "
        "`capturing` (with the `/health` address) or `stopped`.",
    )  # fmt: skip


class CaptureSettings(Section):
    """Live capture (``callsift sniff``)."""

    interfaces: Annotated[list[str], NoDecode] = setting(
        env="CALLSIFT_INTERFACES", default_factory=lambda: ["any"],
        doc="Interfaces to capture on (comma-separated in the environment; `any` for all).",
    )  # fmt: skip
    bpf: str | None = setting(
        None, env="CALLSIFT_BPF",
        doc="Capture filter (default: all UDP, SIP over TCP/SCTP on `analysis.sip_tcp_ports`, "
        "tunnels, fragments).",
    )  # fmt: skip
    snaplen: int = setting(
        65535, env="CALLSIFT_SNAPLEN", ge=64, le=262144, doc="Bytes kept of each frame."
    )
    buffer_mb: int = setting(
        32, env="CALLSIFT_BUFFER_MB", ge=1, le=4096,
        doc="Kernel capture buffer per interface, MiB.",
    )  # fmt: skip
    promisc: bool = setting(True, env="CALLSIFT_PROMISC", doc="Promiscuous mode.")
    interface_pool: bool = setting(
        False, env="CALLSIFT_INTERFACE_POOL",
        doc="Sensors sharing the spool each capture one entry of `interfaces` (`eth2+eth3`: "
        "one entry of two), as a sensor of their own; without it the list is one claim and "
        "other sensors on the same spool wait as standbys.",
    )  # fmt: skip

    @field_validator("interfaces", mode="before")
    @classmethod
    def _interfaces(cls, v: Any) -> Any:
        return split_list(v)

    @field_validator("interfaces")
    @classmethod
    def _nonempty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one interface is needed")
        return v


class AnalysisSettings(Section):
    """Call tracking (``sniff`` and ``analyze``)."""

    call_timeout_s: float = setting(
        300.0, env="CALLSIFT_CALL_TIMEOUT_S", gt=0,
        doc="A call with no SIP and no RTP for this long is closed and flagged `timeout`.",
    )  # fmt: skip
    linger_s: float = setting(
        5.0, env="CALLSIFT_LINGER_S", ge=0,
        doc="A finished call stays open this long for late RTP, retransmissions and the BYE "
        "answer.",
    )  # fmt: skip
    sip_tcp_ports: Ports = setting(
        env="CALLSIFT_SIP_TCP_PORTS", default_factory=lambda: list(SIP_TCP_PORTS),
        doc="TCP/SCTP ports carrying SIP (comma-separated in the environment).",
    )  # fmt: skip
    orphan_min_packets: int = setting(
        5, env="CALLSIFT_ORPHAN_MIN_PACKETS", ge=1,
        doc="An RTP flow bound to no call is reported as a stream from this many packets on.",
    )  # fmt: skip
    max_orphan_flows: int = setting(
        20_000, env="CALLSIFT_MAX_ORPHAN_FLOWS", ge=0,
        doc="RTP flows bound to no call that are tracked at once (oldest dropped beyond).",
    )  # fmt: skip
    max_calls: int = setting(
        MAX_CALLS, env="CALLSIFT_MAX_CALLS", ge=100,
        doc="Calls tracked at once (memory bound, docs/SENSOR.md \"Limits\"): above 80 %, a "
        "dialog whose INVITE got no answer at all closes after 32 s of silence "
        "(`calls.pressure_timeout`); at the limit new calls are refused (`calls.table_full`).",
    )  # fmt: skip
    workers: int = setting(
        0, env="CALLSIFT_WORKERS", ge=0, le=MAX_WORKERS,
        doc="Processes sharing the packet work of one sensor or one `analyze` run (every "
        "worker sees all SIP, each a share of the RTP flows; docs/ARCHITECTURE.md "
        "\"Workers\"). 0: automatic: `sniff` uses the cores (at most "
        f"{AUTO_WORKERS_MAX}), `analyze` one process below {AUTO_WORKERS_FILE_MB} MB of "
        "capture and above it a worker per core but one (the parent's) when that makes two "
        "or more. 1: one process.",
    )  # fmt: skip
    max_registrations: int = setting(
        MAX_REGISTRATIONS, env="CALLSIFT_MAX_REGISTRATIONS", ge=100,
        doc="REGISTER attempts awaiting their answer: above 80 % a challenge waits 32 s instead "
        "of 90 s; at the limit new ones are refused (`register.table_full`).",
    )  # fmt: skip

    @field_validator("sip_tcp_ports", mode="before")
    @classmethod
    def _sip_ports(cls, v: Any) -> Any:
        return port_list(v)


class DecoderSettings(Section):
    """Limits and ports of the packet decoder (reassembly and tunnels)."""

    hep_ports: Ports = setting(
        env="CALLSIFT_HEP_PORTS", default_factory=lambda: [9060],
        doc="UDP ports decoded as HEP v2/v3 (HOMER encapsulation).",
    )  # fmt: skip
    vxlan_ports: Ports = setting(
        env="CALLSIFT_VXLAN_PORTS", default_factory=lambda: [4789],
        doc="UDP ports decoded as VXLAN.",
    )  # fmt: skip
    tzsp_ports: Ports = setting(
        env="CALLSIFT_TZSP_PORTS", default_factory=lambda: [37008],
        doc="UDP ports decoded as TZSP.",
    )  # fmt: skip
    max_tunnel_depth: int = setting(
        8, env="CALLSIFT_MAX_TUNNEL_DEPTH", ge=1, le=64,
        doc="Nested encapsulations decoded before a frame is dropped (`tunnel_too_deep`).",
    )  # fmt: skip
    frag_max_bytes: int = setting(
        16 << 20, env="CALLSIFT_FRAG_MAX_BYTES", ge=1,
        doc="Bytes of IP fragments held for reassembly (oldest sets evicted beyond).",
    )  # fmt: skip
    frag_timeout_s: float = setting(
        30.0, env="CALLSIFT_FRAG_TIMEOUT_S", gt=0,
        doc="An incomplete fragment set is dropped after this long (capture time).",
    )  # fmt: skip
    tcp_max_streams: int = setting(
        20_000, env="CALLSIFT_TCP_MAX_STREAMS", ge=1,
        doc="SIP-over-TCP/WebSocket streams followed at once (least recent evicted beyond).",
    )  # fmt: skip
    tcp_max_buffer_bytes: int = setting(
        256 * 1024, env="CALLSIFT_TCP_MAX_BUFFER_BYTES", ge=1,
        doc="Bytes buffered per TCP stream (and per SCTP message) waiting for a whole SIP "
        "message.",
    )  # fmt: skip
    tcp_max_ooo_segments: int = setting(
        64, env="CALLSIFT_TCP_MAX_OOO_SEGMENTS", ge=0,
        doc="Out-of-order TCP segments held per stream before it resynchronises.",
    )  # fmt: skip
    tcp_idle_timeout_s: float = setting(
        300.0, env="CALLSIFT_TCP_IDLE_TIMEOUT_S", gt=0,
        doc="A TCP stream with no segment for this long is forgotten (capture time).",
    )  # fmt: skip

    @field_validator("hep_ports", "vxlan_ports", "tzsp_ports", mode="before")
    @classmethod
    def _port_lists(cls, v: Any) -> Any:
        return port_list(v)


class StorageSettings(Section):
    """The database, the CDR writer and its on-disk journal."""

    db_url: str | None = setting(
        None, env="CALLSIFT_DB_URL", repr=False,
        doc=f"Database: `{URL_FORM}` (required by `sniff` and the `db` commands; "
        "`analyze` writes to it with `--db`/`--write-db`).",
    )  # fmt: skip
    journal_dir: Path | None = setting(
        None, env="CALLSIFT_JOURNAL_DIR",
        doc="Where records wait while the database is down, one folder per database and "
        "sensor (default: `<spool.dir>/.journal` for `sniff`, `~/.cache/callsift/journal` for "
        "`analyze`).",
    )  # fmt: skip
    journal_max_mb: int = setting(
        1024, env="CALLSIFT_JOURNAL_MAX_MB", ge=1,
        doc="Journal size limit, MiB (a warning at 80 %; beyond, new records are dropped and "
        "counted).",
    )  # fmt: skip
    journal_segment_mb: int = setting(
        16, env="CALLSIFT_JOURNAL_SEGMENT_MB", ge=1, doc="Size of one journal file, MiB."
    )
    batch_size: int = setting(
        500, env="CALLSIFT_DB_BATCH_SIZE", ge=1, doc="Records per database transaction."
    )
    flush_interval_s: float = setting(
        1.0, env="CALLSIFT_DB_FLUSH_INTERVAL_S", gt=0,
        doc="A batch is written after this long even when not full.",
    )  # fmt: skip
    queue_size: int = setting(
        10_000, env="CALLSIFT_DB_QUEUE_SIZE", ge=1,
        doc="Records queued for the writer; beyond, they go straight to the journal.",
    )  # fmt: skip
    connections: int = setting(
        2, env="CALLSIFT_DB_CONNECTIONS", ge=1, le=64,
        doc="Database connections of the writer (batches written in parallel).",
    )  # fmt: skip
    connect_timeout_s: float = setting(
        5.0, env="CALLSIFT_DB_CONNECT_TIMEOUT_S", gt=0,
        doc="Limit of one connection attempt and its schema check.",
    )  # fmt: skip
    timeout_s: float = setting(
        30.0, env="CALLSIFT_DB_TIMEOUT_S", gt=0,
        doc="Limit of one batch write or ping; then the batch is journalled.",
    )  # fmt: skip
    retry_min_s: float = setting(
        0.5, env="CALLSIFT_DB_RETRY_MIN_S", gt=0,
        doc="First wait before retrying a failed database (doubles up to `retry_max_s`).",
    )  # fmt: skip
    retry_max_s: float = setting(
        30.0, env="CALLSIFT_DB_RETRY_MAX_S", gt=0, doc="Longest wait between database retries."
    )
    retention_days: int = setting(
        90, env="CALLSIFT_DB_RETENTION_DAYS", ge=0,
        doc="`db maintain` drops CDR partitions older than this (0: keep everything).",
    )  # fmt: skip
    partitions_ahead_days: int = setting(
        7, env="CALLSIFT_DB_PARTITIONS_AHEAD_DAYS", ge=0, le=366,
        doc="Daily partitions `db migrate` and `db maintain` create ahead of today.",
    )  # fmt: skip

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, v: str | None) -> str | None:
        if v is not None:
            parse_db_url(v)  # ValueError with the precise problem
        return v

    def require_db_url(self) -> str:
        """The database URL; :class:`ConfigError` when none is configured."""
        if not self.db_url:
            raise ConfigError(f"no database: pass --db {URL_FORM} or set CALLSIFT_DB_URL")
        return self.db_url


class SpoolSettings(Section):
    """Per-call pcap files."""

    dir: Path = setting(
        Path("/var/spool/callsift"), env="CALLSIFT_SPOOL_DIR",
        doc="Per-call pcaps go to `DIR/YYYY-MM-DD/HH/MM/`; `sniff` keeps its journal in "
        "`DIR/.journal`.",
    )  # fmt: skip
    mode: SpoolMode = setting(
        SpoolMode.SIP_RTP, env="CALLSIFT_SPOOL_MODE",
        doc="What a call's pcap holds: `sip+rtp`, `sip`, or `rtp-headers` (RTP cut after its "
        "header).",
    )  # fmt: skip
    gzip: bool = setting(False, env="CALLSIFT_SPOOL_GZIP", doc="Gzip the per-call pcaps.")
    subdir: str = setting(
        "", env="CALLSIFT_SPOOL_SUBDIR",
        doc="This sensor's part of a spool shared by several hosts (a relative path): its "
        "pcaps, journal and identity live under `DIR/SUBDIR/`.",
    )  # fmt: skip
    max_gb: float = setting(
        10.0, env="CALLSIFT_SPOOL_MAX_GB", ge=0,
        doc="Oldest pcaps are deleted above this size, GiB (0: no limit).",
    )  # fmt: skip
    max_age_days: float = setting(
        14.0, env="CALLSIFT_SPOOL_MAX_AGE_DAYS", ge=0,
        doc="Pcaps older than this are deleted (0: no limit).",
    )  # fmt: skip
    group: str | None = setting(
        None, env="CALLSIFT_SPOOL_GROUP",
        doc="Group (name or gid) owning the pcaps and folders the spool creates (files 0640, "
        "folders 0750): the API/GUI reader's group (default: the process's own group).",
    )  # fmt: skip
    buffer_mb: float = setting(
        64.0, env="CALLSIFT_SPOOL_BUFFER_MB", gt=0,
        doc="Memory for the frames of all calls not yet written, MiB: each call gets a share "
        "(`flush_kb`, less with many calls); beyond, the largest buffers are written. Python "
        "holds about 100 more bytes per buffered frame.",
    )  # fmt: skip
    flush_kb: int = setting(
        256, env="CALLSIFT_SPOOL_FLUSH_KB", ge=1,
        doc="A call's buffered frames are written in one write when they reach this, KiB.",
    )  # fmt: skip
    flush_interval_s: float = setting(
        10.0, env="CALLSIFT_SPOOL_FLUSH_INTERVAL_S", gt=0,
        doc="Every call's buffered frames are written at least this often (capture time): "
        "what a crash may lose.",
    )  # fmt: skip
    max_open_files: int = setting(
        256, env="CALLSIFT_SPOOL_MAX_OPEN_FILES", ge=1,
        doc="Pcap files kept open at once (the least recently written is closed, and reopened "
        "when needed): any number of calls fit in this many descriptors.",
    )  # fmt: skip

    def writer_options(self) -> dict[str, Any]:
        """The per-call pcap writer's keyword arguments (``CallPcapSpool``) from these settings."""
        return {
            "mode": self.mode,
            "gzip": self.gzip,
            "group": self.group,
            "max_buffer_bytes": int(self.buffer_mb * (1 << 20)),
            "flush_bytes": self.flush_kb << 10,
            "flush_interval_s": self.flush_interval_s,
            "max_open_files": self.max_open_files,
        }

    @field_validator("subdir")
    @classmethod
    def _subdir(cls, v: str) -> str:
        v = v.strip("/")
        parts = v.split("/")
        if v and ("\x00" in v or any(p in ("", ".", "..") for p in parts)):
            raise ValueError(f"must be a relative path without . or .. parts, got {v!r}")
        return v


class MetricsSettings(Section):
    """The sensor's Prometheus metrics and health endpoint."""

    listen: str = setting(
        "127.0.0.1:9108", env="CALLSIFT_METRICS_LISTEN",
        doc="`HOST:PORT` of `/metrics` and `/health` (port 0: any free port).",
    )  # fmt: skip

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_host_port(v)
        return v

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_host_port(self.listen)


SECTIONS: dict[str, type[Section]] = {
    "sensor": SensorSettings,
    "capture": CaptureSettings,
    "analysis": AnalysisSettings,
    "decoder": DecoderSettings,
    "diagnosis": DiagnosisSettings,
    "storage": StorageSettings,
    "spool": SpoolSettings,
    "metrics": MetricsSettings,
    "api": ApiSettings,
    "gui": GuiSettings,
    "mirror": MirrorSettings,
    "hep": HepSettings,
}
