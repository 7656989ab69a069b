"""The worker side: an :class:`~sniffer.analyzer.Analyzer` that keeps its share of the UDP
flows (:mod:`.shard`) and hands each call it closes to the parent as a :class:`~.parts.Part`.

Call timeouts are decided together: a call with no SIP and no RTP *in this worker* for
``analysis.call_timeout_s`` is reported ``idle`` (and ``active`` again when a packet comes);
the parent closes it in every worker (a ``close`` command) once all of them report it idle
and every worker's capture clock has passed the last of those reports (a worker behind the
others may still see a packet of it): then no worker saw a packet of the call for that long,
as one process would have found. A call
closed by its SIP (BYE, CANCEL, final error, then the linger) closes in each worker by itself:
they all see the same SIP.

Only worker 0 writes a call's SIP frames into its pcap, and only it sends the records made of
SIP alone (registrations, messages); every worker sends the orphan streams it holds.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from db.records import Record, StreamRecord
from sniffer.analyzer import Analyzer
from sniffer.analyzer_config import AnalyzerConfig
from sniffer.calls.call import Call
from sniffer.calls.state import CallState
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram
from sniffer.flows import flow_key
from sniffer.sip.framing import looks_like_sip
from sniffer.spool.spool import CallPcapSpool
from sniffer.workers.parts import Part, detach
from sniffer.workers.shard import flow_owner, is_plain_rtp

Message = tuple[Any, ...]
"""To the parent: ``("rec", worker, record)``, ``("part", part)``, ``("idle", worker, uid,
call_id, clock)``, ``("active", worker, uid)``, ``("clock", worker, clock)`` (each tick, last),
``("eof", worker)``, ``("ticked", worker)`` (the end of its input, each alone in its batch);
from it: ``("close", uid, call_id)``, ``("tick", clock)``, ``("finish",)``."""


def commands_of(cmd_q: Any) -> Callable[[], list[Message]]:
    """The parent's commands waiting in ``cmd_q`` (a multiprocessing queue), without blocking:
    what :class:`ShardAnalyzer` takes as ``commands``."""

    def waiting() -> list[Message]:
        out: list[Message] = []
        while True:
            try:
                out.append(cmd_q.get_nowait())
            except queue.Empty:
                return out

    return waiting


class ShardAnalyzer(Analyzer):
    """Worker ``index`` of ``workers``. ``send`` takes the messages of one tick at once;
    ``commands`` returns the parent's commands waiting (never blocks)."""

    def __init__(
        self,
        linktype: int,
        index: int,
        workers: int,
        send: Callable[[list[Message]], None],
        commands: Callable[[], list[Message]],
        *,
        spool: CallPcapSpool | None = None,
        config: AnalyzerConfig | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__(linktype, self._record, spool=spool, config=config, counters=counters)
        self.index = index
        self.workers = workers
        self._send = send
        self._commands = commands
        self.outbox: list[Message] = []
        self.timeout_s = self.tracker.call_timeout_s
        self.tracker.call_timeout_s = float("inf")  # decided with the other workers
        self.idle_calls: dict[str, float] = {}
        """Call-ID -> its last activity here when it was reported idle."""
        self.shared_packets = 0
        """Packets every worker gets (not plain RTP/RTCP): the sensor's packets are worker 0's
        plus the others' less these."""

    # -- the share ---------------------------------------------------------------------------

    def _datagram(self, d: Datagram) -> None:
        if (
            d.transport == 17
            and flow_owner(d.src, d.dst, d.sport, d.dport, self.workers) != self.index
            and flow_key(d.src, d.dst, d.sport, d.dport) not in self.flowtable.flows
            and not looks_like_sip(d.payload)
        ):
            self.counters.inc("workers.other_share")
            return
        super()._datagram(d)

    def _slow(self, linktype: int, ts: float, buf: bytes) -> None:
        if not is_plain_rtp(linktype, buf):
            self.shared_packets += 1
        super()._slow(linktype, ts, buf)

    def sip(self, d: Datagram) -> None:
        if self.index == 0:
            super().sip(d)
            return
        call = self.signalling.handle(
            d.payload, d.ts, d.src, d.sport, d.dst, d.dport, d.vlan, d.transport, self.sink
        )
        if call is not None and self.spool is not None and call.pcap is None:
            call.pcap = self.spool.open_call(call.call_id, call.first_ts)
            if call.flow_keys:
                self.media.attach_pcap(call)

    def _record(self, rec: Record) -> None:
        if self.index == 0 or isinstance(rec, StreamRecord):
            self.outbox.append(("rec", self.index, rec))

    # -- calls -------------------------------------------------------------------------------

    def emit_call(self, call: Call, reason: str) -> None:
        self.flowtable.forget_call(call)
        pcap = self._close_pcap(call)
        idle = self.idle_calls.pop(call.call_id, None) is not None
        self._close_leg(call, reason)
        part = Part(self.index, call.uid, str(reason), idle, detach(call), pcap)
        self.outbox.append(("part", part))

    def _close_leg(self, call: Call, reason: str) -> None:
        """The call's leg keys age out here as they would after its record (the parent
        builds the record; this worker links the legs of later calls by SIP keys)."""
        notes = call.notes
        if notes is None or notes.leg is None or not self.diagnosis.enabled:
            return
        k = notes.keys
        keys = [("call-id", call.call_id), *(("cid", x) for x in k.cids)]
        keys += [("session-id", x) for x in k.session_ids] + [("icid", x) for x in k.icids]
        _state, end = call.state_and_end(reason)
        self.diagnosis.legs.close(notes.leg, end, keys)

    def tracker_reap(self, now: float) -> None:
        super().tracker_reap(now)
        for cmd in self._commands():
            if cmd[0] == "close":
                self._close(cmd[1], cmd[2])
        self._watch_idle(now)
        self.outbox.append(("clock", self.index, now))
        self.flush()

    def _close(self, uid: str, call_id: str) -> None:
        call = self.tracker.calls.get(call_id)
        if call is None or call.uid != uid:
            return  # closed here meanwhile (its SIP): its part is on its way
        self.tracker.forget(call)
        self.idle_calls[call_id] = 0.0
        self.emit_call(call, CallState.TIMEOUT.value)

    def _watch_idle(self, now: float) -> None:
        last_of = self.tracker.last_activity
        timeout = self.timeout_s
        reported = self.idle_calls
        out = self.outbox
        for call in self.tracker.calls.values():
            last = last_of(call)
            cid = call.call_id
            if now - last >= timeout:
                if cid not in reported:
                    reported[cid] = last
                    out.append(("idle", self.index, call.uid, cid, now))
            elif cid in reported:
                del reported[cid]
                out.append(("active", self.index, call.uid))

    def flush(self) -> None:
        """Send what this worker has for the parent."""
        if self.outbox:
            batch, self.outbox = self.outbox, []
            self._send(batch)

    def end_of_input(self, next_command: Callable[[], Message]) -> None:
        """This worker's input is over: say so (``eof``), look once more for idle calls at the
        clock the parent sends (``tick``: the latest of all workers' clocks; this worker's own
        stops at its share's last packet) and answer ``ticked``, then apply the parent's last
        ``close`` commands until it says ``finish``. Without this a call that timed out in the
        last seconds of a file would end ``unterminated`` here, not ``timeout`` as in one
        process."""
        self.flush()
        self._send([("eof", self.index)])
        while True:
            cmd = next_command()
            if cmd[0] == "finish":
                break
            if cmd[0] == "tick":
                self._watch_idle(cmd[1])
                self.flush()
                self._send([("ticked", self.index)])
            elif cmd[0] == "close":
                self._close(cmd[1], cmd[2])
        self.flush()

    def finish(self, reason: str = "unterminated") -> None:
        super().finish(reason)
        self.flush()
