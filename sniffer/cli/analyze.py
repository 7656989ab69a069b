"""``callsift analyze``: offline analysis of capture files, no server needed.

Exit codes: 0 success; 1 a file could not be analysed (missing, not a capture, unwritable
spool) or a call's pcap could not be written (its record has ``pcap: null``); 2 bad arguments;
3 a file was truncated or damaged: analysed up to the damage, with a warning on stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from db.errors import StorageError
from db.records import Record
from db.settings import SIP_TCP_PORTS, Settings, SpoolMode, flag_help, load_settings
from db.settings.base import MAX_WORKERS
from db.url import URL_FORM, db_url_arg
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.capture.files import open_capture
from sniffer.capture.source import PacketSource
from sniffer.cli.analyze_workers import analyze_in_workers, capture_bytes
from sniffer.cli.errors import ANALYZE_EXIT_HELP, EXIT_ERROR, EXIT_OK, EXIT_TRUNCATED, UsageError
from sniffer.cli.output import SORT_ORDERS, Output, RecordFilter
from sniffer.counters import Counters
from sniffer.spool.spool import CallPcapSpool
from sniffer.workers.shard import analyze_workers

PROGRESS_MIN_BYTES = 20 << 20
"""Files larger than this get a progress bar when stderr is a terminal."""
CHUNK = 65536


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse capture files offline (pcap, pcapng, gzip)",
        description="Analyse pcap/pcapng files (optionally gzip-compressed): calls, RTP "
        "quality, registrations. Prints a table, or JSON lines with --json. Settings not "
        "given as flags come from CALLSIFT_* variables and the --config file (docs/CONFIG.md).",
        epilog=ANALYZE_EXIT_HELP,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="capture files, in time order")
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (default: env CALLSIFT_CONFIG)"
    )
    p.add_argument("--json", action="store_true", help="JSON lines, one record per line")
    p.add_argument(
        "--sort", choices=SORT_ORDERS, default="completion",
        help="order of the JSON lines: as calls complete, or by start time (default: "
        "completion; the tables are always by time)",
    )  # fmt: skip
    p.add_argument(
        "--call-id", action="append", default=[], metavar="ID",
        help="print only the records of this Call-ID (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--number", action="append", default=[], metavar="N",
        help="print only calls whose caller or called number starts with N (registrations: "
        "the user; MESSAGEs: sender or recipient); repeatable. Filters what is printed: "
        "--db and --spool keep every record",
    )  # fmt: skip
    p.add_argument("--stats", action="store_true", help="also print the decoder/parser counters")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument("--spool", metavar="DIR", help="write one pcap per call under DIR")
    p.add_argument(
        "--spool-mode", choices=[m.value for m in SpoolMode],
        help=flag_help("spool.mode", "with --spool: what a call's pcap holds"),
    )  # fmt: skip
    p.add_argument(
        "--spool-gzip", action="store_true", default=None,
        help=flag_help("spool.gzip", "with --spool: gzip the per-call pcaps"),
    )  # fmt: skip
    p.add_argument(
        "--call-timeout", type=_positive_float, metavar="SECONDS",
        help=flag_help("analysis.call_timeout_s", "close a call after this much SIP and RTP "
                       "silence"),
    )  # fmt: skip
    p.add_argument(
        "--max-calls", type=_count, metavar="N",
        help=flag_help("analysis.max_calls", "calls tracked at once; beyond, new calls are "
                       "refused and counted (calls.table_full)"),
    )  # fmt: skip
    p.add_argument(
        "--workers", type=_workers, metavar="N",
        help=flag_help("analysis.workers", "processes sharing the work (each reads the files "
                       "and keeps its share of the RTP); 0: automatic (file size, cores)"),
    )  # fmt: skip
    p.add_argument(
        "--sip-port", type=_port, action="append", default=[], metavar="PORT",
        help="extra TCP port carrying SIP, repeatable (analysis.sip_tcp_ports always are: "
        f"{','.join(map(str, SIP_TCP_PORTS))} by default)",
    )  # fmt: skip
    p.add_argument(
        "--db", type=db_url_arg, metavar="URL",
        help=f"also write the records to MySQL: {URL_FORM}",
    )  # fmt: skip
    p.add_argument(
        "--write-db", action="store_true",
        help="also write the records to the configured database (env CALLSIFT_DB_URL or "
        "[storage] db_url): keeps the password off the command line",
    )  # fmt: skip
    p.add_argument(
        "--sensor-id", type=int, metavar="N",
        help=flag_help("sensor.id", "with --db: the sensor id the records are stored under"),
    )  # fmt: skip
    p.add_argument(
        "--journal", metavar="DIR",
        help=flag_help("storage.journal_dir", "with --db: where records wait while MySQL is "
                       "down, a folder per database and sensor; none: ~/.cache/callsift/journal"),
    )  # fmt: skip
    p.set_defaults(run=run, cmd_parser=p)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return v


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"not a number of workers 0..{MAX_WORKERS}: {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _check_combinations(args: argparse.Namespace) -> None:
    """Options that mean nothing without another one: :class:`UsageError`."""
    to_db = args.db is not None or args.write_db
    for flag, value, needs, given in (
        ("--journal", args.journal, "--db URL (or --write-db)", to_db),
        ("--sensor-id", args.sensor_id, "--db URL (or --write-db)", to_db),
        ("--spool-gzip", args.spool_gzip, "--spool DIR", args.spool),
        ("--spool-mode", args.spool_mode, "--spool DIR", args.spool),
        ("--sort time", args.sort == "time" or None, "--json (the tables are by time)", args.json),
    ):
        if value is not None and not given:
            raise UsageError(f"{flag} needs {needs}")


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings tree with this command's flags on top (``--sip-port`` adds ports)."""
    flags: dict[str, Any] = {
        "analysis.call_timeout_s": args.call_timeout,
        "analysis.max_calls": args.max_calls,
        "analysis.workers": args.workers,
        "spool.mode": args.spool_mode,
        "spool.gzip": args.spool_gzip,
        "storage.db_url": args.db,
        "sensor.id": args.sensor_id,
        "storage.journal_dir": args.journal,
    }
    settings = load_settings(args.config, flags)
    if args.sip_port:
        ports = sorted({*settings.analysis.sip_tcp_ports, *args.sip_port})
        settings = load_settings(args.config, {**flags, "analysis.sip_tcp_ports": ports})
    return settings


def run(args: argparse.Namespace) -> int:
    _check_combinations(args)
    settings = settings_of(args)
    out = Output(args.json, sort=args.sort, only=RecordFilter(args.call_id, args.number))
    if args.db is None and not args.write_db:
        return _drive(_analyze(args, settings, out, out))
    return _run_with_db(args, settings, out)


def _drive(steps: Generator[None, None, int]) -> int:
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return int(stop.value)


def _run_with_db(args: argparse.Namespace, settings: Settings, out: Output) -> int:
    """The same analysis, every record also written through the sensor's CDR writer (in a
    thread of its own: the analysis never starves it). The run ends when every record, the
    ones a previous run left in this database's journal included, is in the database, or, when
    the database is down, in the journal (exit 1)."""
    import asyncio

    from sniffer.storage.database import check_database
    from sniffer.storage.writer import CdrWriter

    storage = settings.storage
    asyncio.run(check_database(storage.require_db_url(), storage.connect_timeout_s))
    sensor_id = settings.sensor.id
    if sensor_id is None:  # the id of the sensor named like this host, claimed once
        sensor_id = asyncio.run(_claimed_sensor_id(settings))
    root = storage.journal_dir or default_journal_root()
    with CdrWriter.from_settings(storage, sensor_id, root) as writer:

        def both(rec: Record) -> None:
            out(rec)
            writer.submit(rec)

        try:
            rc = _drive(_analyze(args, settings, out, both))
            writer.close(drain_journal=True)
        except KeyboardInterrupt:
            writer.close(timeout=0)  # what is not written yet goes to the journal, now
            raise
    if writer.backlog_records:
        raise StorageError(
            f"the database did not take {writer.backlog_records} records "
            f"({writer.last_error or 'closed before they were written'}): they wait in the "
            f"journal {writer.journal_dir} for the next run against this database"
        )
    return rc


async def _claimed_sensor_id(settings: Settings) -> int:
    """Without ``--sensor-id`` the records go under the sensor ``analyze:NAME`` (NAME: the
    host name by default), whose id the database gives once and keeps."""
    from db.errors import DbUnavailable
    from sniffer.service.sensorid import claim_id

    name = settings.sensor.name
    try:
        return await claim_id(
            settings.storage.require_db_url(), f"analyze:{name}"[:64], name,
            timeout_s=settings.storage.connect_timeout_s,
        )  # fmt: skip
    except DbUnavailable as exc:
        raise DbUnavailable(
            f"{exc} (without --sensor-id the records take their sensor id from the database; "
            "with one they wait in the journal until it answers)"
        ) from exc


def default_journal_root() -> Path:
    """``$XDG_CACHE_HOME/callsift/journal`` (``~/.cache`` by default): one folder per database
    and sensor in it."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "callsift" / "journal"


def _analyze(
    args: argparse.Namespace,
    settings: Settings,
    out: Output,
    sink: Callable[[Record], None],
) -> Generator[None, None, int]:
    """The analysis; yields between chunks of packets (a progress bar); returns the exit code.
    Raises :class:`~db.errors.CaptureError` (a file that cannot be read: every file is
    checked before any is analysed) and :class:`~db.errors.SpoolError`."""
    for path in args.files:
        open_capture(path).close()
    workers = analyze_workers(settings.analysis.workers, capture_bytes(args.files))
    if workers > 1:
        rc, stats = analyze_in_workers(args.files, settings, sink, workers, args.spool)
        _report(args, out, stats)
        return rc
    config = AnalyzerConfig.from_settings(settings)
    counters = Counters()
    rc = EXIT_OK
    spools: list[CallPcapSpool] = []
    analyzer: Analyzer | None = None
    totals: dict[str, Any] = {"files": 0, "packets": 0}
    with ExitStack() as stack:
        for path in args.files:
            src = stack.enter_context(open_capture(path))
            if analyzer is None or analyzer.linktype != src.linktype:
                if analyzer is not None:
                    analyzer.finish()
                spool = _open_spool(args, settings, src.linktype, stack)
                if spool is not None:
                    spools.append(spool)
                analyzer = Analyzer(
                    src.linktype, sink, spool=spool, config=config, counters=counters
                )
            before = analyzer.packets
            if _wants_progress(args, path):
                yield from _feed_chunks(analyzer, src)
            else:
                analyzer.feed(src.packets())
            totals["files"] += 1
            totals["packets"] += analyzer.packets - before
            if src.warning:
                print(f"callsift: warning: {src.warning}", file=sys.stderr)
                counters.inc("capture.truncated_files")
                rc = EXIT_TRUNCATED
            src.close()
        assert analyzer is not None
        analyzer.finish()
        stats = {**analyzer.stats(), **totals}
        if _report_pcap_failures(spools):
            rc = EXIT_ERROR
    _report(args, out, stats)
    return rc


def _report(args: argparse.Namespace, out: Output, stats: dict[str, Any]) -> None:
    out.finish()
    if args.json:
        if args.stats:
            sys.stdout.write(json.dumps({"type": "stats", **stats}) + "\n")
    elif out.table is not None:
        out.table.render(sys.stdout, stats if args.stats else None)


def _open_spool(
    args: argparse.Namespace, settings: Settings, linktype: int, stack: ExitStack
) -> CallPcapSpool | None:
    if not args.spool:
        return None
    sp = settings.spool
    spool = CallPcapSpool(args.spool, linktype, subdir=sp.subdir, **sp.writer_options())
    stack.enter_context(spool)
    return spool


def _report_pcap_failures(spools: list[CallPcapSpool]) -> bool:
    """One line when some calls' pcaps could not be written (their records have pcap: null)."""
    reasons: Counters = Counters()
    for spool in spools:
        for key, n in spool.counters.items():
            if key.startswith("pcap_failed."):
                reasons.inc(key.removeprefix("pcap_failed."), n)
    if not reasons:
        return False
    why = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
    last = next((s.last_error for s in reversed(spools) if s.last_error), "")
    print(
        f"callsift: {sum(reasons.values())} call pcaps could not be written ({why}; last: "
        f"{last}); their records have pcap: null",
        file=sys.stderr,
    )
    return True


def _wants_progress(args: argparse.Namespace, path: str) -> bool:
    if args.no_progress or not sys.stderr.isatty():
        return False
    try:
        return os.path.getsize(path) >= PROGRESS_MIN_BYTES
    except OSError:
        return False


def _chunks(src: PacketSource) -> Iterator[list[tuple[float, bytes]]]:
    it = iter(src.packets())
    while chunk := list(itertools.islice(it, CHUNK)):
        yield chunk


def _feed_chunks(analyzer: Analyzer, src: PacketSource) -> Iterator[None]:
    """Feed in chunks under a progress bar, yielding after each."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    size = os.path.getsize(src.name) if os.path.exists(src.name) else None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[packets]:,} packets"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(os.path.basename(src.name), total=size, packets=0)
        for chunk in _chunks(src):
            analyzer.feed(chunk)
            progress.update(task, completed=src.bytes_read, packets=analyzer.packets)
            yield
