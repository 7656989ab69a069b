"""``callsift analyze --workers N``: N processes read the files, each keeping its share
(libpcap filters the plain RTP of the other shares out before Python sees it,
:func:`~sniffer.workers.shard.share_bpf`); the parent assembles the calls and hands every
record to the sink, as one process would (in the order calls complete: ``--sort time`` for the
order of one process's ``--sort time``)."""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import resource
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from db.errors import CaptureError
from db.records import Record
from db.settings import Settings
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.capture.files import LibpcapFileSource, open_capture
from sniffer.counters import Counters
from sniffer.spool.spool import CallPcapSpool
from sniffer.workers.assembler import Assembler
from sniffer.workers.pcapjoin import fragment_subdir
from sniffer.workers.shard import share_bpf
from sniffer.workers.worker import Message, ShardAnalyzer, commands_of

log = logging.getLogger(__name__)

QUEUE_BATCHES = 256
"""Batches (one per worker tick) waiting for the parent; a worker waits when it is full."""
POLL_S = 0.5
FINISH_WAIT_S = 600.0
"""How long a worker at the end of its input waits for the others (its parent's ``finish``)."""


@dataclass(slots=True)
class Outcome:
    """What the workers report at the end."""

    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    spool: Counters = field(default_factory=Counters)
    spool_error: str | None = None


def analyze_files(
    files: list[str],
    settings: Settings,
    sink: Callable[[Record], None],
    workers: int,
    spool_dir: str | None = None,
) -> Outcome:
    """Analyse ``files`` (already checked readable) with ``workers`` processes; every record
    to ``sink``. Raises :class:`~db.errors.CaptureError` when a worker failed."""
    ctx = _context()
    out_q: mp.Queue[list[Message]] = ctx.Queue(QUEUE_BATCHES)
    cmd_qs: list[mp.Queue[Message]] = [ctx.Queue() for _ in range(workers)]
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(i, workers, files, settings, spool_dir, out_q, cmd_qs[i]),
            name=f"callsift-worker-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    assembler = Assembler(
        workers,
        sink,
        lambda w, cmd: cmd_qs[w].put(cmd),
        diagnosis=settings.diagnosis,
        spool_root=spool_dir,
        gzip=settings.spool.gzip,
    )
    outcome = Outcome()
    done: set[int] = set()
    ended: set[int] = set()
    ticked: set[int] = set()
    per_worker: list[dict[str, Any]] = []
    for p in procs:
        p.start()
    try:
        while len(done) < workers:
            try:
                batch = out_q.get(timeout=POLL_S)
            except queue.Empty:
                _check_alive(procs, done)
                continue
            head = batch[0]
            if head[0] == "done":
                _, index, stats, warnings, spool, spool_error = head
                done.add(index)
                per_worker.append(stats)
                outcome.warnings += warnings
                outcome.spool.merge(spool)
                outcome.spool_error = outcome.spool_error or spool_error
            elif head[0] == "eof":  # then every worker looks for idle calls at the last clock
                ended.add(head[1])
                if len(ended) == workers:
                    for q in cmd_qs:
                        q.put(("tick", max(assembler.clocks)))
            elif head[0] == "ticked":  # then the calls idle everywhere close, then the rest
                ticked.add(head[1])
                if len(ticked) == workers:
                    assembler.end_of_input()
                    for q in cmd_qs:
                        q.put(("finish",))
            elif head[0] == "error":
                raise CaptureError(f"worker {head[1]} failed: {head[2]}")
            else:
                assembler.handle(batch)
        assembler.flush()
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    outcome.stats = _merged_stats(per_worker, assembler.counters, workers)
    return outcome


def _context() -> Any:
    """Fork while the parent is one thread (the children start at once, nothing to import);
    spawn once it runs threads (``--db``: the CDR writer's), which a fork would copy
    mid-flight (a lock held by another thread stays held in the child)."""
    if threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _check_alive(procs: list[Any], done: set[int]) -> None:
    for i, p in enumerate(procs):
        if i not in done and p.exitcode is not None:
            raise CaptureError(f"worker {i} ended without its results (exit code {p.exitcode})")


def _merged_stats(
    per_worker: list[dict[str, Any]], parent: Counters, workers: int
) -> dict[str, Any]:
    counters = Counters()
    for s in per_worker:
        counters.merge(s.get("counters", {}))
    counters.merge(parent)
    use = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "packets": sum(int(s.get("packets", 0)) for s in per_worker),
        "open_calls": 0,
        "flows": sum(int(s.get("flows", 0)) for s in per_worker),
        "counters": counters.snapshot(),
        "workers": workers,
        "worker_cpu_s": [s.get("cpu_s") for s in sorted(per_worker, key=_index)],
        "parent_cpu_s": round(use.ru_utime + use.ru_stime, 3),
    }


def _index(stats: dict[str, Any]) -> int:
    return int(stats.get("worker", 0))


def _worker_main(
    index: int,
    workers: int,
    files: list[str],
    settings: Settings,
    spool_dir: str | None,
    out_q: mp.Queue[list[Message]],
    cmd_q: mp.Queue[Message],
) -> None:
    try:
        _worker(index, workers, files, settings, spool_dir, out_q, cmd_q)
    except Exception as exc:
        log.exception("worker %d failed", index)
        out_q.put([("error", index, f"{type(exc).__name__}: {exc}")])
        raise SystemExit(1) from None


def _worker(
    index: int,
    workers: int,
    files: list[str],
    settings: Settings,
    spool_dir: str | None,
    out_q: mp.Queue[list[Message]],
    cmd_q: mp.Queue[Message],
) -> None:
    config = AnalyzerConfig.from_settings(settings)
    counters = Counters()
    spools: list[CallPcapSpool] = []
    commands = commands_of(cmd_q)
    analyzer: ShardAnalyzer | None = None
    warnings: list[str] = []
    share = share_bpf(index, workers)
    sp = settings.spool
    with ExitStack() as stack:
        for path in files:
            src = stack.enter_context(open_capture(path))
            if analyzer is None or analyzer.linktype != src.linktype:
                if analyzer is not None:
                    analyzer.finish()
                spool = None
                if spool_dir is not None:
                    spool = CallPcapSpool(
                        spool_dir, src.linktype,
                        subdir=fragment_subdir(sp.subdir, index) if index else sp.subdir,
                        **sp.writer_options(),
                    )  # fmt: skip
                    stack.enter_context(spool)
                    spools.append(spool)
                analyzer = ShardAnalyzer(
                    src.linktype, index, workers, out_q.put, commands,
                    spool=spool, config=config, counters=counters,
                )  # fmt: skip
            if isinstance(src, LibpcapFileSource) and not src.set_filter(share):
                counters.inc("workers.unfiltered_files")
            analyzer.feed(src.packets())
            if src.warning and index == 0:
                warnings.append(src.warning)
            src.close()
        assert analyzer is not None
        analyzer.end_of_input(lambda: cmd_q.get(timeout=FINISH_WAIT_S))
        analyzer.finish()
        stats = analyzer.stats()
    use = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_s"] = round(use.ru_utime + use.ru_stime, 3)
    stats["worker"] = index
    spool_counters = Counters()
    for s in spools:
        spool_counters.merge(s.counters)
    spool_error = next((s.last_error for s in reversed(spools) if s.last_error), None)
    out_q.put([("done", index, stats, warnings, spool_counters.snapshot(), spool_error)])
