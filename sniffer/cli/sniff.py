"""``callsift sniff``: the live sensor service (see sniffer/service/sensor.py)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from db.settings import SpoolMode, flag_help, load_settings
from db.url import URL_FORM, db_url_arg
from sniffer.cli.errors import EXIT_HELP, EXIT_OK

if TYPE_CHECKING:
    from db.settings import Settings
    from sniffer.service.sensor import Sensor

log = logging.getLogger(__name__)

FLAGS = {
    "db_url": "storage.db_url",
    "interfaces": "capture.interfaces",
    "bpf": "capture.bpf",
    "sensor_id": "sensor.id",
    "sensor_name": "sensor.name",
    "spool_dir": "spool.dir",
    "spool_mode": "spool.mode",
    "metrics_listen": "metrics.listen",
    "interface_pool": "capture.interface_pool",
    "health_file": "sensor.health_file",
    "spool_subdir": "spool.subdir",
    "mirror_listen": "mirror.listen",
    "mirror_secrets": "mirror.secrets_file",
    "hep_listen": "hep.listen",
    "hep_auth_keys": "hep.auth_keys_file",
    "hep_out": "hep.out",
    "workers": "analysis.workers",
}
"""Flag destination -> settings key (flags win over the environment and the file)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sniff",
        help="run the live sensor: capture, CDRs into MySQL, per-call pcaps",
        description="Live sensor. Settings come from flags, then CALLSIFT_* environment "
        "variables, then the --config TOML file, then the defaults (docs/CONFIG.md lists "
        "every key; deploy/sensor.example.toml is an example).",
        epilog=EXIT_HELP,
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )
    p.add_argument(
        "--db", dest="db_url", type=db_url_arg, metavar="URL",
        help=flag_help("storage.db_url", URL_FORM),
    )  # fmt: skip
    p.add_argument(
        "-i", "--interface", dest="interfaces", action="append", metavar="IFACE",
        help=flag_help("capture.interfaces", "capture interface, repeatable; 'any' for all"),
    )  # fmt: skip
    p.add_argument(
        "--bpf", metavar="FILTER",
        help=flag_help("capture.bpf", "capture filter; none: all UDP, SIP over TCP, tunnels"),
    )  # fmt: skip
    p.add_argument(
        "--sensor-id", type=int, metavar="N",
        help=flag_help("sensor.id", "this sensor's id on every CDR, 1..65535; none: claimed "
                       "automatically in the database"),
    )  # fmt: skip
    p.add_argument(
        "--sensor-name", metavar="NAME",
        help=flag_help("sensor.name", "this sensor's name in the GUI; none: the host name"),
    )  # fmt: skip
    p.add_argument(
        "--spool", dest="spool_dir", metavar="DIR",
        help=flag_help("spool.dir", "per-call pcaps under DIR, the CDR journal in DIR/.journal"),
    )  # fmt: skip
    p.add_argument(
        "--spool-mode", choices=[m.value for m in SpoolMode],
        help=flag_help("spool.mode", "what a call's pcap holds"),
    )  # fmt: skip
    p.add_argument(
        "--metrics-listen", metavar="HOST:PORT",
        help=flag_help("metrics.listen", "where /metrics and /health answer"),
    )  # fmt: skip
    p.add_argument(
        "--interface-pool", action="store_true", default=None,
        help=flag_help("capture.interface_pool", "replicas sharing the spool each capture one "
                       "entry of the interfaces (an entry may join several with +)"),
    )  # fmt: skip
    p.add_argument(
        "--spool-subdir", metavar="PATH",
        help=flag_help("spool.subdir", "this host's part of a spool shared by several hosts"),
    )  # fmt: skip
    p.add_argument(
        "--health-file", metavar="FILE",
        help=flag_help("sensor.health_file", "status file for container healthchecks"),
    )  # fmt: skip
    p.add_argument(
        "--mirror-listen", metavar="HOST:PORT",
        help=flag_help("mirror.listen", "receive packet mirroring senders here (no -i needed)"),
    )  # fmt: skip
    p.add_argument(
        "--mirror-secrets", metavar="FILE",
        help=flag_help("mirror.secrets_file", "one 'NAME SECRET' line per sender"),
    )  # fmt: skip
    p.add_argument(
        "--hep-listen", action="append", metavar="udp|tcp:HOST:PORT",
        help=flag_help("hep.listen", "receive HEP here, repeatable (no -i needed)"),
    )  # fmt: skip
    p.add_argument(
        "--hep-auth-keys", metavar="FILE",
        help=flag_help("hep.auth_keys_file", "'CAPTURE_ID KEY' lines: HEP auth keys required"),
    )  # fmt: skip
    p.add_argument(
        "--hep-out", metavar="udp|tcp:HOST:PORT",
        help=flag_help("hep.out", "copy every sensor's SIP as HEPv3 to a HOMER collector"),
    )  # fmt: skip
    p.add_argument(
        "--workers", type=int, metavar="N",
        help=flag_help("analysis.workers", "processes sharing the packet work (each captures "
                       "all SIP and its share of the RTP)"),
    )  # fmt: skip
    p.set_defaults(run=run, cmd_parser=p)


def run(args: argparse.Namespace) -> int:
    flags = {key: getattr(args, dest) for dest, key in FLAGS.items()}
    settings = load_settings(args.config, flags)
    asyncio.run(_serve(settings))
    return EXIT_OK


async def _serve(settings: Settings) -> None:
    """Claim the interfaces (or wait as a standby), check capture, spool and database, learn
    the sensor id, then run until SIGTERM/SIGINT."""
    # the service's modules load only when it runs (``callsift analyze`` starts faster)
    from sniffer.service.identity import InterfaceClaims
    from sniffer.service.receivers import run_capture, run_receivers, wants_capture
    from sniffer.service.sensor import JOURNAL_DIR
    from sniffer.service.sensorid import resolve_sensor_id
    from sniffer.service.status import STANDBY, STARTING, StatusFile

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    status = StatusFile(settings.sensor.health_file)
    status.write(STARTING)
    root = logging.getLogger()
    if not wants_capture(settings):
        root.setLevel(min(root.level, logging.INFO))
        await run_receivers(settings, stop, status)
        return
    own = settings.spool.subdir  # this host's part of a shared spool, if any
    claims = InterfaceClaims(
        settings.spool.dir / own, settings.capture.interfaces, pool=settings.capture.interface_pool
    )
    async with claims:
        claim = await claims.claim(stop, on_standby=lambda: status.write(STANDBY))
        if claim is None:
            return
        settings = claimed_settings(settings, claim.interfaces, claim.index, claim.pooled)
        if claim.pooled:
            journal = claim.directory / "journal"
        else:
            journal = settings.storage.journal_dir or settings.spool.dir / own / JOURNAL_DIR
        sensor = _sensor_class(settings)(
            settings,
            journal_dir=journal,
            spool_subdir="/".join(p for p in (own, claim.key if claim.pooled else "") if p),
            status=status,
        )
        sensor.open()
        await sensor.check_database()
        root.setLevel(min(root.level, logging.INFO))  # a running service says what it does
        if sensor.sensor_id is None:
            sensor_id = await resolve_sensor_id(
                settings.storage.require_db_url(), claim, settings.sensor.name, stop,
                timeout_s=settings.storage.connect_timeout_s,
            )  # fmt: skip
            if sensor_id is None:
                return
            sensor.set_sensor_id(sensor_id)
        await run_capture(sensor, settings, stop)


def _sensor_class(settings: Settings) -> Callable[..., Sensor]:
    """The sensor of one process, or of ``analysis.workers`` processes."""
    from sniffer.service.sensor import Sensor
    from sniffer.workers.shard import sniff_workers

    workers = sniff_workers(settings.analysis.workers)
    if workers > 1 and settings.hep.out:
        if settings.analysis.workers > 1:  # asked for, not the automatic count
            log.warning("hep.out needs one process: the sensor runs without workers")
        workers = 1
    if workers <= 1:
        return Sensor
    from sniffer.workers.service import WorkerSensor

    return functools.partial(WorkerSensor, workers=workers)


def claimed_settings(
    settings: Settings, interfaces: list[str], index: int, pooled: bool
) -> Settings:
    """The settings of the sensor that captures one claim. In pool mode its name gets the
    claim's interfaces appended, and a fixed metrics port is offset by the claim's index
    (``9108`` for the first entry, ``9109`` for the second...)."""
    if not pooled:
        return settings
    host, port = settings.metrics.host_port
    name = f"{settings.sensor.name}-{'+'.join(interfaces)}"[:64]
    listen = f"[{host}]:{port + index}" if ":" in host else f"{host}:{port + index}"
    return settings.model_copy(
        update={
            "capture": settings.capture.model_copy(update={"interfaces": interfaces}),
            "sensor": settings.sensor.model_copy(update={"name": name}),
            "metrics": settings.metrics.model_copy(
                update={"listen": listen if port else settings.metrics.listen}
            ),
        }
    )
