"""The packet loop: frames in, call records (and per-call pcap frames) out.

Fast path: an untagged Ethernet/IPv4/UDP frame (no IP options, not a fragment) whose 4-tuple is
a known RTP flow is handled inline with byte indexing and one ``struct`` unpack; everything else
goes through :class:`sniffer.decode.decoder.Decoder` and :meth:`Analyzer._datagram`.
The same code serves ``callsift analyze`` (files) and the live sensor (batches from capture).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

from db.records import Record
from sniffer.analyzer_config import AnalyzerConfig, tune_gc
from sniffer.calls.call import Call
from sniffer.calls.snapshot import adopt_calls, call_state_json
from sniffer.calls.tracker import CallTracker
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram, Decoded
from sniffer.decode.decoder import Decoder
from sniffer.decode.hep import synth_udp_frame
from sniffer.decode.reframe import reframed
from sniffer.diagnosis.diagnoser import Diagnoser
from sniffer.faults import (
    FaultGuard,
    SinkError,
    raise_sink_error,
    reraise_sink_cause,
    unwrap_sink_errors,
)
from sniffer.flows import Flow, flow_key
from sniffer.flowtable import FlowTable
from sniffer.media_path import MediaPath
from sniffer.signalling import Signalling, Sink
from sniffer.sip.framing import looks_like_sip
from sniffer.spool.spool import CallPcapSpool

LINKTYPE_ETHERNET = 1
TICK_S = 1.0
"""Housekeeping (timeouts, reassembly expiry) runs once per second of capture time."""
MAX_CLOCK_JUMP_S = 3600.0
"""A capture clock step forward larger than this is a bogus timestamp, not an idle hour."""

_FAST_PATH = struct.Struct("!HB5xHxB18xBBHII")
"""From offset 12 of an Ethernet frame: ethertype, IPv4 version/IHL, flags/fragment offset,
protocol, then at offset 42 the RTP header's first two bytes, sequence, timestamp, SSRC."""
_FastFields = tuple[int, int, int, int, int, int, int, int, int]
_fast_fields: Callable[[bytes, int], _FastFields] = _FAST_PATH.unpack_from
""":data:`_FAST_PATH`'s fields typed as ints: compiled, they are unboxed once and then compared
and masked natively instead of through the object protocol."""
_NO_FLOWS: dict[bytes, Flow] = {}
READ_AHEAD = 64
"""Frames the loop takes from its source at a time, so that the compiled build's index can
request the memory they will need all at once (:mod:`sniffer.rtpindex`)."""


class Analyzer:
    """Turns captured frames of one link type into records sent to ``sink``."""

    def __init__(
        self,
        linktype: int,
        sink: Sink,
        *,
        spool: CallPcapSpool | None = None,
        config: AnalyzerConfig | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.linktype = linktype
        self._sink = sink
        self.config = cfg = config or AnalyzerConfig()
        tune_gc()  # the process that analyses packets (GC_YOUNG_THRESHOLD)
        self.counters = counters if counters is not None else Counters()
        self.guard = FaultGuard(self.counters)
        self.decoder = Decoder(self.counters, cfg.decoder, sip_tcp_ports=cfg.sip_tcp_ports)
        self.tracker = CallTracker(
            self.counters,
            linger_s=cfg.linger_s,
            call_timeout_s=cfg.call_timeout_s,
            max_calls=cfg.max_calls,
        )
        self.signalling = Signalling(
            self.counters, self.tracker, self.guard, max_registrations=cfg.max_registrations
        )
        self.spool = spool
        self.flowtable = FlowTable(cfg.max_orphan_flows)
        self.diagnosis = Diagnoser(cfg.diagnosis)
        self.signalling.observe = self.diagnosis.on_sip
        self.media = MediaPath(
            self.flowtable, self.tracker, self.sink, self.counters,
            min_orphan_packets=cfg.orphan_min_packets, spool=spool, diagnosis=self.diagnosis,
        )  # fmt: skip
        self.tracker.sdp.on_endpoint_taken = self.media.release
        self.tracker.on_adopted = self.media.adopt_orphans
        self.packets = 0
        self.sip_taps: list[Callable[[Datagram], None]] = []
        """Called with every SIP message before it is analysed (``--hep-out``); must not
        block or raise."""
        self._next_tick = float("-inf")
        self._last_tick = float("-inf")

    # -- the loop ---------------------------------------------------------------------------

    def feed(self, packets: Iterable[tuple[float, bytes]], linktype: int | None = None) -> None:
        """Analyse frames in capture order (an open pypcap handle, or a batch list) of DLT
        ``linktype`` (default: the analyzer's own). With a pcap spool, frames of another link
        type are analysed and stored as frames of the analyzer's (and spool's) link type
        (:mod:`sniffer.decode.reframe`): a call's pcap holds one link type.

        An exception raised while analysing one frame is counted and logged by the guard and
        the loop goes on (a ``try`` costs nothing until it raises); an exception of the sink
        propagates unchanged."""
        if linktype is None:
            linktype = self.linktype
        elif linktype != self.linktype and self.spool is not None:
            packets = reframed(packets, linktype, self.linktype, self.counters)
            linktype = self.linktype
        index = self.flowtable.rtp  # no fast path for frames of another link type:
        eth = linktype == LINKTYPE_ETHERNET
        rtp = index if eth and isinstance(index, dict) else _NO_FLOWS  # the pure build's
        native = index if eth and not isinstance(index, dict) else None  # the C index
        find = native.find if native is not None else None
        prefetch = native.prefetch if native is not None else None
        fast = _fast_fields
        slow = self._slow
        rtp_rare = self.media.rtp_rare
        caplen = self.media.rtp_caplen
        sample = self.diagnosis.sample
        smask = self.diagnosis.sample_mask
        fault = self.guard.fault
        next_tick = self._next_tick
        n = 0
        source = iter(packets)
        chunk: list[tuple[float, bytes]] = []
        failed: BaseException | None = None
        try:
            while failed is None:
                chunk.clear()
                try:
                    for item in islice(source, READ_AHEAD):
                        chunk.append(item)
                except BaseException as exc:  # the source failed: analyse what it gave, raise
                    failed = exc
                if not chunk:
                    break
                if prefetch is not None:
                    prefetch(chunk)
                for ts, buf in chunk:
                    n += 1
                    try:
                        if ts >= next_tick:
                            next_tick = self._tick(ts)
                        # Ethernet/IPv4 without options, UDP, not a fragment, RTP v2 without
                        # CSRC/extension, whose bytes 26..37 (addresses, ports) name an RTP flow
                        flow = rtp.get(buf[26:38]) if find is None else find(buf)
                        if flow is not None and len(buf) >= 54:
                            etype, ihl, frag, proto, b0, b1, seq, rts, ssrc = fast(buf, 12)
                            if etype == 0x800 and ihl == 0x45 and proto == 17 and not frag & 0x3FFF:
                                pt = b1 & 0x7F
                                if b0 == 0x80 and ssrc == flow.ssrc and pt == flow.pt:
                                    flow.stats.add(seq, rts, ts, pt, b1 > 127)
                                    if not seq & smask:
                                        sample(flow, buf)
                                    pcap = flow.pcap
                                    if pcap is not None:
                                        pcap.write(ts, buf, caplen)
                                    continue
                                end = min(len(buf), 14 + ((buf[16] << 8) | buf[17]))  # no padding
                                rtp_rare(flow, ts, buf, 42, end, buf, 42)
                                continue
                        slow(linktype, ts, buf)
                    except Exception as exc:
                        fault(exc, ts, "packet", len(buf))
        except SinkError as exc:
            reraise_sink_cause(exc)
        finally:
            self._next_tick = next_tick
            self.packets += n
        if failed is not None:
            raise failed

    def _slow(self, linktype: int, ts: float, buf: bytes) -> None:
        for d in self.decoder.decode(linktype, ts, buf):
            self._datagram(d)

    def feed_decoded(self, datagrams: Iterable[Decoded]) -> None:
        """Analyse transport payloads taken out of their packets elsewhere (HEP), in capture
        order, as the decoder's own are; their per-call pcap frames are synthesized
        Ethernet/IP/UDP. Errors are counted like :meth:`feed`'s."""
        fault = self.guard.fault
        n = 0
        try:
            for d in datagrams:
                n += 1
                ts = d.ts
                try:
                    if ts >= self._next_tick:
                        self._next_tick = self._tick(ts)
                    try:
                        frame, poff = synth_udp_frame(d.src, d.sport, d.dst, d.dport, d.payload)
                    except ValueError:
                        self.counters.inc("decode.decoded_bad_addresses_or_size")
                        continue
                    datagram = Datagram(
                        d.transport, d.src, d.sport, d.dst, d.dport, d.payload, None, ts,
                        [(ts, frame)], poff, d.encap,
                    )  # fmt: skip
                    self._datagram(datagram)
                except Exception as exc:
                    fault(exc, ts, "datagram", len(d.payload))
        except SinkError as exc:
            reraise_sink_cause(exc)
        finally:
            self.packets += n

    def _datagram(self, d: Datagram) -> None:
        payload = d.payload
        if d.transport != 17:
            if looks_like_sip(payload):
                self.sip(d)
            else:
                self.counters.inc("sip.stream_not_sip")
            return
        key = flow_key(d.src, d.dst, d.sport, d.dport)
        flow = self.flowtable.flows.get(key)
        frame = d.frames[-1][1]
        if flow is not None:
            self.media.on_flow(flow, key, d.ts, payload, frame, d.payload_offset)
            return
        if looks_like_sip(payload):
            self.sip(d)
            return
        self.media.on_new_flow(key, d, frame)

    def sip(self, d: Datagram) -> None:
        for tap in self.sip_taps:
            tap(d)
        call = self.signalling.handle(
            d.payload, d.ts, d.src, d.sport, d.dst, d.dport, d.vlan, d.transport, self.sink
        )
        if call is None:
            return
        spool = self.spool
        if spool is not None:
            if call.pcap is None:
                call.pcap = spool.open_call(call.call_id, call.first_ts)
                if call.flow_keys:  # adopted mid-dialog with RTP seen before its SIP
                    self.media.attach_pcap(call)
            for fts, frame in d.frames:
                call.pcap.write(fts, frame)

    # -- housekeeping -----------------------------------------------------------------------

    def _tick(self, ts: float) -> float:
        """Timeouts and expiry; each job is guarded alone, so a failing one neither stops the
        others nor runs again before the next tick."""
        if ts - self._last_tick > MAX_CLOCK_JUMP_S and self._last_tick > float("-inf"):
            self.counters.inc("capture.clock_jump")
            self.tracker.clock_floor = ts
        self._last_tick = ts
        fault = self.guard.fault
        try:
            self.tracker_reap(ts)
        except Exception as exc:
            fault(exc, ts, "call timeouts")
        for job in (
            self._reap_signalling,
            self.decoder.expire,
            self.media.expire,
            self.diagnosis.expire,
            self._spool_tick,
        ):
            try:
                job(ts)
            except Exception as exc:
                fault(exc, ts, "housekeeping")
        return ts + TICK_S

    def _spool_tick(self, ts: float) -> None:
        """The per-call pcaps' timed flush (capture time: what a crash may lose)."""
        if self.spool is not None:
            self.spool.tick(ts)

    def _reap_signalling(self, ts: float) -> None:
        self.signalling.reap(ts, self.sink)

    def _drain_signalling(self) -> None:
        self.signalling.drain(self.sink)

    @property
    def last_capture_ts(self) -> float | None:
        """Capture time of the last housekeeping tick (about the last packet), None before."""
        return None if self._last_tick == float("-inf") else self._last_tick

    def idle(self, now: float) -> None:
        """Housekeeping while no packet arrives (live capture): ``now`` is the current time,
        the capture clock's best stand-in when the wire is quiet."""
        if now >= self._next_tick:
            with unwrap_sink_errors():
                self._next_tick = self._tick(now)

    def tracker_reap(self, now: float) -> None:
        for call, reason in self.tracker.reap(now):
            try:
                self.emit_call(call, reason)
            except Exception as exc:  # this call's record is lost (counted); the rest go on
                self.guard.fault(exc, now, f"the record of call {call.call_id[:100]!r}")

    def emit_call(self, call: Call, reason: str) -> None:
        """The call's record to the sink. The tracker has forgotten the call: its flows and
        pcap are released here whatever happens while the record is built."""
        self.flowtable.forget_call(call)
        try:
            rec = call.to_record(reason)
        finally:
            pcap = self._close_pcap(call)
        rec.pcap = pcap
        try:
            self.diagnosis.finish(call, rec)
        except Exception as exc:  # the record goes out undiagnosed (counted)
            self.guard.fault(exc, rec.end_ts, f"the diagnosis of call {call.call_id[:100]!r}")
        self.sink(rec)

    def _close_pcap(self, call: Call) -> str | None:
        if call.pcap is None or self.spool is None:
            return None
        return self.spool.close_call(call.pcap)

    def sink(self, rec: Record) -> None:
        """Every record leaves through here: an exception of the sink is not a packet's
        fault, it passes the guards as :class:`SinkError` and reaches the caller as is."""
        try:
            self._sink(rec)
        except Exception as exc:
            raise_sink_error(exc)

    def finish(self, reason: str = "unterminated") -> None:
        """End of input: emit every open call (``reason`` is the state of those never ended)."""
        with unwrap_sink_errors():
            for call, why in self.tracker.drain(reason):
                try:
                    self.emit_call(call, why)
                except Exception as exc:
                    self.guard.fault(
                        exc, self._last_tick, f"the record of call {call.call_id[:100]!r}"
                    )
            for job in (self._drain_signalling, self.media.drain):
                try:
                    job()
                except Exception as exc:
                    self.guard.fault(exc, self._last_tick, "end of input")

    # -- crash recovery ---------------------------------------------------------------------

    def call_states(self) -> list[str]:
        """The open calls' crash-recovery state, one JSON object each
        (:mod:`sniffer.calls.snapshot`); their buffered pcap frames are written first, so the
        files hold what the state says."""
        if self.spool is not None:
            self.spool.flush_all()
        last = self.tracker.last_activity
        return [call_state_json(c, last(c)) for c in self.tracker.calls.values()]

    def adopt(self, states: Iterable[Mapping[str, Any]]) -> int:
        """Track the calls of a previous process of this sensor (its last snapshot) again:
        :func:`sniffer.calls.snapshot.adopt_calls`. Returns the calls adopted."""
        return adopt_calls(self.tracker, self.counters, self.spool, states)

    def stats(self) -> dict[str, object]:
        return {
            "packets": self.packets,
            "open_calls": len(self.tracker.calls),
            "flows": len(self.flowtable.flows),
            "counters": self.counters.snapshot(),
            "sip_peers": self.signalling.peers.snapshot(),
            "decoder": self.decoder.stats(),
            **({"spool": self.spool.counters.snapshot()} if self.spool is not None else {}),
        }
