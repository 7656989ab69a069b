"""``callsift sniff``: the live sensor service (see sniffer/service/sensor.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from db.settings import SpoolMode, flag_help, load_settings
from db.url import URL_FORM, db_url_arg
from sniffer.cli.errors import EXIT_HELP, EXIT_OK

if TYPE_CHECKING:
    from sniffer.service.sensor import Sensor

FLAGS = {
    "db_url": "storage.db_url",
    "interfaces": "capture.interfaces",
    "bpf": "capture.bpf",
    "sensor_id": "sensor.id",
    "sensor_name": "sensor.name",
    "spool_dir": "spool.dir",
    "spool_mode": "spool.mode",
    "metrics_listen": "metrics.listen",
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
        help=flag_help("sensor.id", "this sensor's id on every CDR, 1..65535"),
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
    p.set_defaults(run=run, cmd_parser=p)


def run(args: argparse.Namespace) -> int:
    # the service's modules load only when it runs (``callsift analyze`` starts faster)
    from sniffer.service.sensor import Sensor

    flags = {key: getattr(args, dest) for dest, key in FLAGS.items()}
    settings = load_settings(args.config, flags)
    sensor = Sensor(settings)
    sensor.open()
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))  # a running service says what it does
    asyncio.run(_serve(sensor))
    return EXIT_OK


async def _serve(sensor: Sensor) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await sensor.check_database()
    await sensor.run(stop)
