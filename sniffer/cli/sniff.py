"""``callsift sniff``: the live sensor service (see sniffer/service/sensor.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from sniffer.spool.spool import SpoolMode

if TYPE_CHECKING:
    from sniffer.service.sensor import Sensor


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sniff",
        help="run the live sensor: capture, CDRs into MySQL, per-call pcaps",
        description="Live sensor. Settings come from flags, then CALLSIFT_* environment "
        "variables, then the --config TOML file (deploy/sensor.example.toml lists them all).",
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    p.add_argument(
        "--db", dest="db_url", metavar="URL", help="mysql://USER:PASSWORD@HOST:PORT/DATABASE"
    )
    p.add_argument(
        "-i", "--interface", dest="interfaces", action="append", metavar="IFACE",
        help="capture interface (repeatable; 'any' for all)",
    )  # fmt: skip
    p.add_argument("--bpf", metavar="FILTER", help="BPF capture filter")
    p.add_argument("--sensor-id", type=int, metavar="N")
    p.add_argument("--sensor-name", metavar="NAME")
    p.add_argument("--spool", dest="spool_dir", metavar="DIR", help="per-call pcaps and journal")
    p.add_argument("--spool-mode", choices=[m.value for m in SpoolMode])
    p.add_argument("--metrics-listen", metavar="HOST:PORT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # the service's modules load only when it runs (``callsift analyze`` starts faster)
    from db.errors import DbError
    from sniffer.capture.source import CaptureError
    from sniffer.service.sensor import Sensor, ShutdownTimeoutError
    from sniffer.service.settings import SettingsError, load_settings
    from sniffer.spool.spool import SpoolError
    from sniffer.storage.errors import StorageError

    try:
        settings = load_settings(
            args.config,
            db_url=args.db_url,
            interfaces=args.interfaces,
            bpf=args.bpf,
            sensor_id=args.sensor_id,
            sensor_name=args.sensor_name,
            spool_dir=args.spool_dir,
            spool_mode=args.spool_mode,
            metrics_listen=args.metrics_listen,
        )
        sensor = Sensor(settings)
        sensor.open()
    except (SettingsError, CaptureError, SpoolError) as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return 1
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))  # a running service says what it does
    rc = 0
    try:
        asyncio.run(_serve(sensor))
    except* (DbError, StorageError, OSError, ShutdownTimeoutError) as group:
        for err in group.exceptions:
            print(f"callsift: {err}", file=sys.stderr)
        rc = 1
    return rc


async def _serve(sensor: Sensor) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await sensor.check_database()
    await sensor.run(stop)
