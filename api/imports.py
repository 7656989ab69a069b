"""Capture imports: an uploaded pcap is analysed by ``callsift analyze --db`` in a child
process (the very code of the sensor, which ``api`` never imports), its calls written under
the ``import`` sensor and its per-call pcaps into the spool. Bounded concurrency, a timeout,
one job per upload with its state kept in memory (the latest 200)."""

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from api.config import ApiConfig
from api.metrics import ApiMetrics

log = logging.getLogger(__name__)
KEEP_JOBS = 200
STDERR_KEEP = 4096
EXIT_TRUNCATED = 3


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class ImportJob:
    id: str
    filename: str
    size: int
    user: str
    state: str = "queued"
    """``queued``, ``running``, ``done`` or ``failed``."""
    created_at: dt.datetime = field(default_factory=_now)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    message: str = ""
    calls: int = 0
    registrations: int = 0
    sensor_id: int = 0
    path: Path | None = None


class ImportRunner:
    """Owns the import tasks (one TaskGroup, entered by the app's lifespan)."""

    def __init__(self, config: ApiConfig, metrics: ApiMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._sem = asyncio.Semaphore(max(1, config.import_concurrency))
        self._tg: asyncio.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        if tg is not None:
            for task in list(tg._tasks):  # shutting down: running analyses are stopped
                task.cancel()
            await tg.__aexit__(exc_type, exc, tb)

    def new_job(self, filename: str, size: int, user: str, path: Path) -> ImportJob:
        job = ImportJob(
            secrets.token_hex(8),
            filename,
            size,
            user,
            path=path,
            sensor_id=self.config.import_sensor_id,
        )
        self.jobs[job.id] = job
        while len(self.jobs) > KEEP_JOBS:
            self.jobs.popitem(last=False)
        return job

    def start(self, job: ImportJob) -> None:
        if self._tg is None:
            raise RuntimeError("the import runner is not running")
        self._tg.create_task(self._run(job), name=f"import-{job.id}")

    def queued_or_running(self) -> int:
        return sum(j.state in ("queued", "running") for j in self.jobs.values())

    async def _run(self, job: ImportJob) -> None:
        try:
            async with self._sem:
                job.state = "running"
                job.started_at = _now()
                await self._analyse(job)
        except asyncio.CancelledError:
            job.state, job.message = "failed", "the API stopped before the analysis finished"
            raise
        except Exception as exc:  # a job never takes the runner down
            log.exception("import %s failed", job.id)
            job.state, job.message = "failed", f"the analysis could not run: {exc}"
        finally:
            job.finished_at = _now()
            self.metrics.imports.labels(job.state).inc()
            if job.path is not None:
                job.path.unlink(missing_ok=True)

    async def _analyse(self, job: ImportJob) -> None:
        cfg = self.config
        assert job.path is not None
        args = [
            *cfg.analyze_cmd,
            "analyze",
            "--db",
            cfg.db_url,
            "--sensor-id",
            str(cfg.import_sensor_id),
            "--json",
            "--no-progress",
            "--journal",
            str(job.path.parent / f".journal-{job.id}"),
        ]
        if cfg.spool_dir is not None:
            args += ["--spool", str(cfg.spool_dir)]
        args.append(str(job.path))
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 22,
        )
        try:
            async with asyncio.timeout(cfg.import_timeout_s):
                counts, err = await asyncio.gather(_count_records(proc), _tail(proc))
                rc = await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            job.state = "failed"
            job.message = (
                f"the analysis took longer than {cfg.import_timeout_s:g} s and was stopped"
            )
            return
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
            raise
        job.calls = counts.get("call", 0)
        job.registrations = counts.get("registration", 0)
        err = err.replace(str(job.path), job.filename)  # never show the server's paths
        lines = [ln.removeprefix("callsift: ") for ln in err.splitlines() if ln.strip()]
        if rc == 0:
            job.state, job.message = "done", f"{job.calls} calls imported"
        elif rc == EXIT_TRUNCATED:
            job.state = "done"
            job.message = f"{job.calls} calls imported; " + (
                lines[-1] if lines else "the file is truncated"
            )
        else:
            job.state = "failed"
            text = lines[-1] if lines else f"the analysis failed (exit code {rc})"
            job.message = text
        log.info("import %s of %s: %s", job.id, job.filename, job.message)


async def _count_records(proc: asyncio.subprocess.Process) -> dict[str, int]:
    """Record types in the JSON lines, read as they come (the output is never kept)."""
    counts: dict[str, int] = {}
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line:
            return counts
        head = line[:40]
        for kind in (b'"call"', b'"registration"', b'"stream"', b'"message"'):
            if b'"type": ' + kind in head:
                key = kind.strip(b'"').decode()
                counts[key] = counts.get(key, 0) + 1
                break


async def _tail(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    buf = b""
    while chunk := await proc.stderr.read(4096):
        buf = (buf + chunk)[-STDERR_KEEP:]
    return buf.decode("utf-8", "replace")
