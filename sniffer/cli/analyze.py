"""``callsift analyze``: offline analysis of capture files, no server needed.

Exit codes: 0 success; 1 a file could not be analysed (missing, not a capture, unwritable
spool); 2 bad arguments; 3 a file was truncated or damaged: analysed up to the damage, with a
warning on stderr.
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
from typing import TYPE_CHECKING, Any

from sniffer.analyzer import Analyzer, AnalyzerConfig
from sniffer.capture.files import open_capture
from sniffer.capture.source import CaptureError, PacketSource
from sniffer.counters import Counters
from sniffer.records import Record, record_to_dict
from sniffer.spool.spool import CallPcapSpool, SpoolError, SpoolMode

if TYPE_CHECKING:
    from sniffer.cli.render import TableRenderer

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TRUNCATED = 3
PROGRESS_MIN_BYTES = 20 << 20
"""Files larger than this get a progress bar when stderr is a terminal."""
CHUNK = 65536


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse capture files offline (pcap, pcapng, gzip)",
        description="Analyse pcap/pcapng files (optionally gzip-compressed): calls, RTP "
        "quality, registrations. Prints a table, or JSON lines with --json.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="capture files, in time order")
    p.add_argument("--json", action="store_true", help="JSON lines, one record per line")
    p.add_argument("--stats", action="store_true", help="also print the decoder/parser counters")
    p.add_argument("--spool", metavar="DIR", help="write one pcap per call under DIR")
    p.add_argument(
        "--spool-mode",
        choices=[m.value for m in SpoolMode],
        default=SpoolMode.SIP_RTP.value,
        help="what per-call pcaps hold (default: sip+rtp)",
    )
    p.add_argument("--spool-gzip", action="store_true", help="gzip the per-call pcaps")
    p.add_argument(
        "--call-timeout",
        type=_positive_float,
        default=300.0,
        metavar="SECONDS",
        help="close a call after this much SIP and RTP silence (default 300)",
    )
    p.add_argument(
        "--sip-port",
        type=_port,
        action="append",
        default=[],
        metavar="PORT",
        help="extra TCP port carrying SIP (5060, 5061, 5080 always are)",
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    p.add_argument(
        "--db",
        nargs="?",
        const="",
        metavar="URL",
        help="also write the records to MySQL: mysql://USER:PASSWORD@HOST:PORT/DATABASE "
        "(--db alone: env CALLSIFT_DB_URL)",
    )
    p.add_argument("--sensor-id", type=int, default=1, metavar="N", help="with --db (default 1)")
    p.add_argument(
        "--journal", metavar="DIR", help="with --db: where records wait while MySQL is down"
    )
    p.set_defaults(run=run)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return v


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


class _Output:
    """Where records go: JSON lines on stdout, or collected for the table."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.table: TableRenderer | None = None
        if not as_json:
            from sniffer.cli.render import TableRenderer

            self.table = TableRenderer()
        self.out = sys.stdout

    def __call__(self, rec: Record) -> None:
        if self.as_json:
            self.out.write(json.dumps(record_to_dict(rec), ensure_ascii=False) + "\n")
        elif self.table is not None:
            self.table.add(rec)


def run(args: argparse.Namespace) -> int:
    out = _Output(args.json)
    if args.db is None:
        steps = _analyze(args, out, out, chunked=False)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return int(stop.value)
    import asyncio  # the database path only: keeps `analyze` quick to start

    from db.url import db_url_from, parse_db_url

    try:
        url = db_url_from(args.db or None)
        parse_db_url(url)
    except ValueError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return asyncio.run(_run_with_db(args, url, out))


async def _run_with_db(args: argparse.Namespace, url: str, out: _Output) -> int:
    """The same analysis, every record also written through the sensor's CDR writer."""
    import asyncio

    from sniffer.storage.errors import StorageError
    from sniffer.storage.writer import CdrWriter

    journal = Path(args.journal or _default_journal(args.sensor_id))
    try:
        async with CdrWriter(url, args.sensor_id, journal) as writer:

            def both(rec: Record) -> None:
                out(rec)
                writer.submit(rec)

            steps = _analyze(args, out, both, chunked=True)
            while True:
                try:
                    next(steps)
                except StopIteration as stop:
                    rc = int(stop.value)
                    break
                await asyncio.sleep(0)  # let the writer flush between chunks
    except StorageError as exc:
        print(f"callsift: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if writer.backlog_records:
        print(
            f"callsift: the database did not take {writer.backlog_records} records: they "
            f"wait in the journal {journal} and are written on the next run",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return rc


def _default_journal(sensor_id: int) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "callsift", f"journal-{sensor_id}")


def _analyze(
    args: argparse.Namespace, out: _Output, sink: Callable[[Record], None], *, chunked: bool
) -> Generator[None, None, int]:
    """The analysis; yields between chunks of packets when ``chunked``; returns the exit code."""
    for path in args.files:  # every file is checked before any is analysed
        try:
            open_capture(path).close()
        except CaptureError as exc:
            print(f"callsift: {exc}", file=sys.stderr)
            return EXIT_ERROR
    config = AnalyzerConfig(
        call_timeout_s=args.call_timeout,
        sip_tcp_ports=frozenset({5060, 5061, 5080, *args.sip_port}),
    )
    counters = Counters()
    rc = EXIT_OK
    analyzer: Analyzer | None = None
    totals: dict[str, Any] = {"files": 0, "packets": 0}
    with ExitStack() as stack:
        for path in args.files:
            try:
                src = stack.enter_context(open_capture(path))
            except CaptureError as exc:
                print(f"callsift: {exc}", file=sys.stderr)
                return EXIT_ERROR
            if analyzer is None or analyzer.linktype != src.linktype:
                if analyzer is not None:
                    analyzer.finish()
                try:
                    spool = _open_spool(args, src.linktype, stack)
                except SpoolError as exc:
                    print(f"callsift: {exc}", file=sys.stderr)
                    return EXIT_ERROR
                analyzer = Analyzer(
                    src.linktype, sink, spool=spool, config=config, counters=counters
                )
            before = analyzer.packets
            if chunked or _wants_progress(args, path):
                yield from _feed_chunks(analyzer, src, _wants_progress(args, path))
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
    if args.json:
        if args.stats:
            sys.stdout.write(json.dumps({"type": "stats", **stats}) + "\n")
    elif out.table is not None:
        out.table.render(sys.stdout, stats if args.stats else None)
    return rc


def _open_spool(args: argparse.Namespace, linktype: int, stack: ExitStack) -> CallPcapSpool | None:
    if not args.spool:
        return None
    spool = CallPcapSpool(
        args.spool, linktype, mode=SpoolMode(args.spool_mode), gzip=args.spool_gzip
    )
    stack.enter_context(spool)
    return spool


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


def _feed_chunks(analyzer: Analyzer, src: PacketSource, show_progress: bool) -> Iterator[None]:
    """Feed in chunks, yielding after each (progress bar, or an event loop to serve)."""
    if not show_progress:
        for chunk in _chunks(src):
            analyzer.feed(chunk)
            yield
        return
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
