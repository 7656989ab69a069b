"""``callsift mirror-send``: the light sender of packet mirroring (sniffer/mirror/sender.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from db.settings import flag_help, load_settings
from sniffer.cli.errors import EXIT_HELP, EXIT_OK

FLAGS = {
    "to": "mirror.to",
    "sensor": "sensor.name",
    "bpf": "capture.bpf",
    "metrics_listen": "metrics.listen",
    "buffer_mb": "mirror.buffer_mb",
    "disk_buffer": "mirror.disk_buffer_dir",
    "disk_buffer_mb": "mirror.disk_buffer_mb",
    "tls": "mirror.tls",
    "tls_ca": "mirror.tls_ca",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mirror-send",
        help="forward captured packets, compressed and authenticated, to a mirror receiver",
        description="Packet mirroring sender: captures (no SIP/RTP parsing) and streams the "
        "packets to a receiving sensor (`callsift sniff --mirror-listen`). The secret comes "
        "from CALLSIFT_MIRROR_SECRET. With -r the file is sent and the command exits 0 once "
        "the receiver has acknowledged all of it. docs/MIRROR.md.",
        epilog=EXIT_HELP,
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", "--interface", metavar="IFACE", help="capture interface")
    src.add_argument("-r", "--read", metavar="FILE", type=Path, help="send a capture file")
    p.add_argument(
        "--to", metavar="HOST:PORT[,HOST:PORT...]",
        help=flag_help("mirror.to", "receivers: the first, then the others as failovers"),
    )  # fmt: skip
    p.add_argument(
        "--sensor", metavar="NAME",
        help=flag_help("sensor.name", "this sender's sensor name (its secret's name on the receiver)"),
    )  # fmt: skip
    p.add_argument("--realtime", action="store_true", help="-r: at the capture's own pace")
    p.add_argument(
        "--bpf", metavar="FILTER",
        help="capture filter (default: SIP ports, UDP above 1024 and tunnels)",
    )  # fmt: skip
    p.add_argument(
        "--metrics-listen", metavar="HOST:PORT",
        help=flag_help("metrics.listen", "where /metrics and /health answer"),
    )  # fmt: skip
    p.add_argument(
        "--buffer-mb", type=int, metavar="MIB",
        help=flag_help("mirror.buffer_mb", "memory buffer"),
    )  # fmt: skip
    p.add_argument(
        "--disk-buffer", metavar="DIR",
        help=flag_help("mirror.disk_buffer_dir", "disk buffer beyond memory"),
    )  # fmt: skip
    p.add_argument(
        "--disk-buffer-mb", type=int, metavar="MIB",
        help=flag_help("mirror.disk_buffer_mb", "disk buffer size"),
    )  # fmt: skip
    p.add_argument(
        "--tls", action="store_true", default=None,
        help=flag_help("mirror.tls", "TLS to the receiver (its certificate checked)"),
    )  # fmt: skip
    p.add_argument("--tls-ca", metavar="FILE", help=flag_help("mirror.tls_ca", "CA file"))
    p.set_defaults(run=run, cmd_parser=p)


def run(args: argparse.Namespace) -> int:
    from sniffer.mirror.sender import MirrorSender

    flags = {key: getattr(args, dest) for dest, key in FLAGS.items()}
    settings = load_settings(args.config, flags)
    sender = MirrorSender(
        settings, interface=args.interface, file=args.read, realtime=args.realtime
    )
    root = logging.getLogger()
    root.setLevel(min(root.level, logging.INFO))
    asyncio.run(_serve(sender))
    return EXIT_OK


async def _serve(sender: object) -> None:
    from sniffer.mirror.sender import MirrorSender

    assert isinstance(sender, MirrorSender)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await sender.run(stop)
