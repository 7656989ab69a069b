"""The receiver's sensors, one per mirror sender (docs/MIRROR.md, "Receiver").

Each sender is the sensor named after it in ``sensors`` (identity ``mirror:NAME``, so every
receiver of a pool sharing the database gives it the same id): its own analyzers (calls of
different senders never merge, even with equal Call-IDs), its own CDR writer and journal, its
pcaps under ``SPOOL/mirror/NAME/``, its own heartbeat. Its state, kept in
``SPOOL/.mirror/NAME.json``, holds the sensor id and the last frame analysed, so a restarted
receiver tells the sender where to resume (no frame lost, none analysed twice).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from db.errors import SpoolError
from db.records import Record
from db.settings import Settings
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.calls.call import Call
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram
from sniffer.privfiles import make_dirs
from sniffer.service.identity import write_json
from sniffer.service.metrics import SensorSnapshot
from sniffer.service.recovery import CallSnapshotFile
from sniffer.spool.spool import CallPcapSpool
from sniffer.storage.writer import CdrWriter

log = logging.getLogger(__name__)

STATE_DIR = ".mirror"
SPOOL_SUBDIR = "mirror"
SPLIT_FLAG = "mirror_split"
"""On the calls a sender's failover cut in two (part of their packets went to another
receiver)."""


class RemoteSensor:
    """One sender's analysis; duck-types what :class:`~sniffer.service.heartbeat.Heartbeat`
    reads of a sensor."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        sensor_id: int,
        *,
        receiver: ReceiverClock,
        key: str | None = None,
        kind: str = SPOOL_SUBDIR,
    ) -> None:
        """``key`` names its state file and pcap folder (default: ``name``); ``kind`` is the
        folder of its pcaps under the spool (``mirror``, ``hep``)."""
        self.name = name
        self.key = key or name
        self.kind = kind
        self.sensor_id = sensor_id
        self.settings = settings.model_copy(
            update={"sensor": settings.sensor.model_copy(update={"name": name, "id": sensor_id})}
        )
        self.receiver = receiver
        self.state_file = Path(settings.spool.dir) / STATE_DIR / f"{self.key}.json"
        self.stream = ""
        """The sender run whose frames :attr:`last_seq` counts."""
        self.last_seq = 0
        self.counters = Counters()
        self.mirror = Counters()
        """The stream's own counters: frames, gaps, duplicates, sessions..."""
        self.config = AnalyzerConfig.from_settings(settings)
        self.analyzer: Analyzer | None = None
        """Its one analyzer, once it has seen a frame."""
        self.analyzers: dict[str, Analyzer] = {}
        self.spools: dict[int, CallPcapSpool] = {}
        self.writer = CdrWriter.from_settings(settings.storage, sensor_id, receiver.journal_root)
        self.snapshots = CallSnapshotFile(Path(settings.spool.dir), sensor_id)
        self.clock_offset_ns: int | None = None
        self.rtt_ns: int | None = None
        self.connected = False
        self.packets = 0
        """Packets analysed by this process."""
        self.stream_packets = 0
        """Packets of the sender's current run analysed here, across restarts of the receiver."""
        self.streaming = False
        """A session of the sender began here and it has not said goodbye (BYE) since."""
        self.adopt_pending = False
        """The stream resumes after frames analysed elsewhere: the next batch opens the window
        in which dialogs begun elsewhere are adopted (``mirror.split_adopt_s``)."""
        self.active: object | None = None
        """The connection streaming this sender now (a newer one replaces it)."""
        self._load_state()

    # -- state ------------------------------------------------------------------------------

    def _load_state(self) -> None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("mirror state %s unreadable (%s): starting afresh", self.state_file, exc)
            return
        if isinstance(data, dict) and data.get("sensor_id") == self.sensor_id:
            seq, stream = data.get("last_seq"), data.get("stream")
            if isinstance(seq, int) and seq >= 0 and isinstance(stream, str):
                self.stream, self.last_seq = stream, seq
                packets = data.get("packets")
                self.stream_packets = packets if isinstance(packets, int) else 0

    def save_state(self, state: dict[str, Any] | None = None) -> None:
        make_dirs(str(self.state_file.parent))
        write_json(self.state_file, state or self.state())

    def state(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sensor_id": self.sensor_id,
            "stream": self.stream,
            "last_seq": self.last_seq,
            "packets": self.stream_packets,
        }

    def resume(self, stream: str, acked: int) -> tuple[int, bool]:
        """Where the sender's stream resumes (the last frame analysed here, or acknowledged by
        another receiver if that is later) and whether frames went elsewhere meanwhile (the
        calls open here are then split: flagged). A new run of the sender starts afresh."""
        if stream != self.stream:
            if self.stream:
                self.mirror.inc("streams_restarted")
            self.stream, self.last_seq, self.stream_packets = stream, 0, 0
        split = False
        self.streaming = True
        if acked > self.last_seq:
            split = bool(self.last_seq) and self.mark_split() > 0
            self.last_seq = acked
            self.adopt_pending = self.settings.mirror.split_adopt_s > 0
        return self.last_seq, split

    # -- analysis ---------------------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()
        self._adopt(self.snapshots.load())

    def analyzer_for(self, linktype: int) -> Analyzer:
        """The sensor's one analyzer (a call's SIP and RTP meet whatever batch brought them);
        its pcaps have the link type of the first frames seen, frames of another link type
        are converted (:meth:`Analyzer.feed`)."""
        if self.analyzer is not None:
            return self.analyzer
        s = self.settings.spool
        spool = self.spools[linktype] = CallPcapSpool(
            s.dir, linktype, subdir="/".join(p for p in (s.subdir, self.kind, self.key) if p),
            **s.writer_options(),
        )  # fmt: skip
        a = self.analyzer = self.analyzers[str(linktype)] = Analyzer(
            linktype, self._sink, spool=spool, config=self.config, counters=self.counters
        )
        a.sip_taps.extend(tap(self.name) for tap in self.receiver.sip_taps)
        return a

    def _sink(self, rec: Record) -> None:
        self.writer.submit(rec)

    def feed(self, linktype: int, packets: list[tuple[float, bytes]]) -> None:
        analyzer = self.analyzer_for(linktype)
        if self.adopt_pending and packets:
            self.adopt_pending = False
            until = packets[0][0] + self.settings.mirror.split_adopt_s
            analyzer.tracker.adopt_mid_dialog(until, SPLIT_FLAG)
            self.mirror.inc("adopt_windows")
        analyzer.feed(packets, linktype)
        self.packets += len(packets)
        self.stream_packets += len(packets)

    def _adopt(self, calls: dict[str, list[dict[str, Any]]]) -> None:
        for key, states in calls.items():
            if key.isdigit():
                self.analyzer_for(int(key)).adopt(states)

    def open_calls(self) -> Iterator[Call]:
        """The calls in progress (the heartbeat's live view)."""
        for a in self.analyzers.values():
            yield from a.tracker.calls.values()

    def mark_split(self) -> int:
        """The calls open now lost part of their packets to another receiver: flag them."""
        n = 0
        for call in self.open_calls():
            call.flags.add(SPLIT_FLAG)
            n += 1
        return n

    def idle(self) -> None:
        """Call timeouts while the sender is quiet, on the sender's clock."""
        now = time.time() - (self.clock_offset_ns or 0) / 1e9
        for a in self.analyzers.values():
            a.idle(now)

    async def save_snapshot(self) -> bool:
        """Crash recovery (each heartbeat): the open calls and where the stream stands."""
        calls = {key: a.call_states() for key, a in self.analyzers.items()}
        state = self.state()  # taken with the calls: a crash resumes the stream right after
        stamps = [t for a in self.analyzers.values() if (t := a.last_capture_ts) is not None]
        ok = await asyncio.to_thread(self.snapshots.save_logged, calls, max(stamps, default=None))
        try:
            await asyncio.to_thread(self.save_state, state)
        except (OSError, SpoolError) as exc:
            log.warning("mirror state %s: %s", self.state_file, exc)
            return False
        return ok

    async def close(self, timeout: float | None) -> None:
        """The receiver stops: open calls end as ``shutdown``, pcaps and CDRs are flushed, the
        stream's position is kept for the sender's return. A sender still streaming goes on
        without this receiver: the rest of its open calls goes elsewhere (flagged)."""
        if self.streaming:
            self.mirror.inc("split_at_shutdown", self.mark_split())
        for a in self.analyzers.values():
            a.finish("shutdown")
        self.snapshots.clear()
        for spool in self.spools.values():
            spool.close()
        try:
            self.save_state()
        except (OSError, SpoolError) as exc:
            log.error("mirror state %s: %s (the sender will resend)", self.state_file, exc)
        await self.writer.aclose(timeout=timeout)

    # -- reporting (the heartbeat's view) ----------------------------------------------------

    def time_left(self) -> float | None:
        return self.receiver.time_left()

    def snapshot(self) -> SensorSnapshot:
        w = self.writer
        spool = Counters()
        for sp in self.spools.values():
            spool.merge(sp.counters)
        counters = Counters()
        counters.merge(self.counters)
        counters.merge(spool, "spool.")
        counters.merge(self.mirror, "mirror.")
        counters.inc("mirror.last_seq", self.last_seq)
        if self.clock_offset_ns is not None:
            counters.inc("mirror.clock_offset_us", self.clock_offset_ns // 1000)
        return SensorSnapshot(
            packets=self.packets,
            active_calls=sum(len(a.tracker.calls) for a in self.analyzers.values()),
            capture_running=self.connected,
            db_up=w.db_up,
            journal_backlog=w.backlog_records,
            journal_bytes=w.journal_bytes,
            cdrs_written=w.written,
            counters=counters.snapshot(),
            writer=w.counters.snapshot(),
            spool=spool.snapshot(),
        )


class ReceiverClock:
    """What every remote sensor shares with the receiver: the journal root and the shutdown
    deadline."""

    def __init__(self, journal_root: Path) -> None:
        self.journal_root = journal_root
        self.deadline: float | None = None
        self.sip_taps: list[Callable[[str], Callable[[Datagram], None]]] = []
        """Per sensor name, a tap each of its analyzers calls with every SIP message."""

    def time_left(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - asyncio.get_running_loop().time())
