"""A worker process of ``callsift sniff --workers N``: its own capture (the sensor's filter
narrowed to its share, :func:`~sniffer.workers.shard.with_share`), its own intake and
:class:`~sniffer.workers.worker.ShardAnalyzer`; parts, records and once a second its
counters go to the parent (:mod:`.service`). Stops when the parent sets ``stop``: the capture
ends, the queued batches are analysed and the open calls go out as parts (``shutdown``).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from db.errors import CallsiftError
from db.settings import Settings
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.calls.call import Call
from sniffer.capture.bpf import build_default_bpf
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.capture.source import FrameBatch
from sniffer.decode.linktypes import DLT_EN10MB
from sniffer.service.heartbeat import MAX_ACTIVE_ROWS
from sniffer.service.intake import Intake
from sniffer.spool.spool import CallPcapSpool
from sniffer.workers.pcapjoin import fragment_subdir
from sniffer.workers.shard import with_share
from sniffer.workers.worker import Message, ShardAnalyzer, commands_of

log = logging.getLogger(__name__)

STATS_S = 0.25
"""How often a worker reports its counters (and runs housekeeping on a quiet wire): the
sensor's `callsift_packets` is at most this old."""
STOP_POLL_S = 0.1


def worker_main(
    index: int,
    workers: int,
    settings: Settings,
    spool_subdir: str,
    out_q: Any,
    cmd_q: Any,
    stop: Any,
    log_level: int = logging.INFO,
) -> None:
    """The process's entry (``spawn``: nothing of the parent's event loop or threads). Logs at
    the parent's level, then at the running service's (``go``)."""
    _die_with_parent()
    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s worker-{index} %(name)s: %(message)s"
    )
    try:
        asyncio.run(_run(index, workers, settings, spool_subdir, out_q, cmd_q, stop))
    except CallsiftError as exc:  # an operator's problem: the parent says it, in one line
        out_q.put([("error", index, str(exc))])
        raise SystemExit(1) from None
    except Exception as exc:
        log.exception("worker %d failed", index)
        out_q.put([("error", index, f"{type(exc).__name__}: {exc}")])
        raise SystemExit(1) from None


PR_SET_PDEATHSIG = 1
"""prctl(2): the signal this process gets when its parent dies."""


def _die_with_parent() -> None:
    """A sensor killed hard (SIGKILL, OOM) must not leave its workers capturing: they get
    SIGTERM when the parent dies (Linux), and end at once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        log.warning("workers cannot follow their parent's death on this system")
    parent = mp.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the prctl
        raise SystemExit(1)


async def _run(
    index: int,
    workers: int,
    settings: Settings,
    spool_subdir: str,
    out_q: Any,
    cmd_q: Any,
    stop: Any,
) -> None:
    cap, sp = settings.capture, settings.spool
    base = cap.bpf or build_default_bpf(settings.analysis.sip_tcp_ports)
    capture = LiveCapture(
        LiveOptions(
            interfaces=list(cap.interfaces),
            bpf=with_share(base, index, workers) or base,
            snaplen=cap.snaplen,
            buffer_bytes=cap.buffer_mb << 20,
            promisc=cap.promisc,
        )
    )
    capture.open()
    linktypes = set(capture.linktypes.values())
    linktype = linktypes.pop() if len(linktypes) == 1 else DLT_EN10MB
    spool = CallPcapSpool(
        sp.dir, linktype, subdir=fragment_subdir(spool_subdir, index) if index else spool_subdir,
        **sp.writer_options(),
    )  # fmt: skip
    analyzer = ShardAnalyzer(
        linktype, index, workers, out_q.put, commands_of(cmd_q),
        spool=spool, config=AnalyzerConfig.from_settings(settings),
    )  # fmt: skip
    out_q.put([("ready", index)])  # capturing: the kernel keeps the packets from now on
    adopt = _wait_go(cmd_q, stop)
    if adopt is None:  # stopped before the sensor ran
        capture.close()
        return
    if adopt:  # the calls of the last snapshot, in every worker (each binds its own flows)
        analyzer.adopt(adopt)
    done = asyncio.Event()
    async with spool, capture:
        intake = Intake([capture])
        for iface in capture.linktypes:
            intake.expect(iface, capture)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(intake.pump(capture))
            tg.create_task(_stopper(stop, capture, done))
            tg.create_task(
                _housekeeping(index, analyzer, capture, out_q, done, settings.sensor.heartbeat_s)
            )
            try:
                async for batch in intake.batches():
                    if isinstance(batch, FrameBatch):
                        analyzer.feed(batch.packets, batch.linktype)
                    else:
                        analyzer.feed_decoded(batch.datagrams)
                    await asyncio.sleep(0)
            finally:
                analyzer.finish("shutdown")
                done.set()
    out_q.put([("stats", index, _stats(analyzer, capture)), ("done", index)])


def _wait_go(cmd_q: Any, stop: Any) -> list[dict[str, Any]] | None:
    """Until the parent runs the sensor: ``("go", calls to adopt, log level)``; None when
    stopped first."""
    while not stop.is_set():
        try:
            cmd = cmd_q.get(timeout=STOP_POLL_S)
        except queue.Empty:
            continue
        if cmd[0] == "go":
            states: list[dict[str, Any]] = cmd[1]
            logging.getLogger().setLevel(cmd[2])
            return states
    return None


async def _stopper(stop: Any, capture: LiveCapture, done: asyncio.Event) -> None:
    while not done.is_set() and not stop.is_set():
        with suppress(TimeoutError):
            async with asyncio.timeout(STOP_POLL_S):
                await done.wait()
    capture.stop()


async def _housekeeping(
    index: int,
    analyzer: ShardAnalyzer,
    capture: LiveCapture,
    out_q: Any,
    done: asyncio.Event,
    live_s: float,
) -> None:
    """Every :data:`STATS_S`: call timeouts on a quiet wire, the counters to the parent;
    every ``live_s`` (the heartbeat's period) worker 0, which has every call's SIP, sends the
    calls in progress for the live view."""
    next_live = 0.0
    while not done.is_set():
        with suppress(TimeoutError):
            async with asyncio.timeout(STATS_S):
                await done.wait()
        if done.is_set():
            return
        now = time.time()
        analyzer.idle(now)
        analyzer.flush()
        msgs: list[Message] = [("stats", index, _stats(analyzer, capture))]
        if now >= next_live:  # the heartbeat's: live view, crash-recovery snapshot
            next_live = now + live_s
            if index == 0:
                states = analyzer.call_states()  # its pcap frames written first
                msgs.append(("live", index, live_calls(analyzer.tracker.calls.values())))
                msgs.append(("states", index, states, analyzer.last_capture_ts))
            elif analyzer.spool is not None:
                analyzer.spool.flush_all()
        out_q.put(msgs)


def live_calls(calls: Iterable[Call]) -> list[Call]:
    """The newest :data:`MAX_ACTIVE_ROWS` calls in progress, as light copies holding what the
    live view reads (parties, times, the SIP state)."""
    newest = sorted(calls, key=_start, reverse=True)[:MAX_ACTIVE_ROWS]
    out = []
    for c in newest:
        x = Call(c.call_id, c.first_ts)
        for name in _LIVE_FIELDS:
            setattr(x, name, getattr(c, name))
        out.append(x)
    return out


_LIVE_FIELDS = (
    "caller", "called", "invite_ts", "ringing_ts", "answer_ts", "final_code", "final_ts",
    "bye_ts", "cancel_ts", "close_at",
)  # fmt: skip


def _start(c: Call) -> float:
    return c.invite_ts if c.invite_ts is not None else c.first_ts


def _stats(analyzer: ShardAnalyzer, capture: LiveCapture) -> dict[str, Any]:
    cap = capture.stats()
    spool = analyzer.spool
    return {
        "packets": analyzer.packets,
        "shared_packets": analyzer.shared_packets,
        "open_calls": len(analyzer.tracker.calls),
        "kernel_dropped": cap.kernel_dropped,
        "if_dropped": cap.if_dropped,
        "queue_dropped": cap.queue_dropped_packets,
        "counters": analyzer.counters.snapshot(),
        "spool": spool.counters.snapshot() if spool is not None else {},
    }


def context() -> Any:
    """Worker processes are spawned: the parent runs an event loop and threads."""
    return mp.get_context("spawn")
