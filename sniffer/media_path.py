"""RTP and RTCP off the fast path: binding new flows to calls through SDP, new SSRCs, other
payload types (telephone-event, CN), RTCP reports, and RTP bound to no call (orphans)."""

from __future__ import annotations

import struct
from collections.abc import Callable

from db.records import Record
from db.settings import SpoolMode
from sniffer.calls.call import MAX_STREAMS, Call, MediaTarget, stream_record
from sniffer.calls.media import CALLEE, CALLER, CallStream, PayloadMap, other_side
from sniffer.calls.tracker import CallTracker
from sniffer.counters import Counters
from sniffer.decode.datagram import Datagram
from sniffer.diagnosis.diagnoser import Diagnoser
from sniffer.flows import RTCP, RTP, UNBOUND, Flow, split_key
from sniffer.flowtable import FlowTable
from sniffer.rtp.dtmf import EventGuess
from sniffer.rtp.header import header_len, looks_like_rtp, rtp_payload
from sniffer.rtp.rtcp import RtcpParseError, looks_like_rtcp, parse_compound
from sniffer.spool.spool import CallPcapSpool

MAX_FLOW_STREAMS = 64
"""SSRCs kept per UDP flow (a new SSRC per packet is an attack, not a call)."""
ORPHAN_IDLE_S = 60.0
"""An unbound flow silent this long is reported (if it qualifies) and forgotten."""
_RTP_FIXED = struct.Struct("!HII")
_NO_PAYLOADS = PayloadMap()


def _announced(call: Call, endpoint: tuple[bytes, int], rtcp: bool) -> MediaTarget | None:
    """The latest target of ``call`` at ``endpoint`` (RTP or RTCP as asked), if any."""
    for key, target in reversed(call.media_targets):
        if key == endpoint and target.rtcp == rtcp:
            return target
    return None


class MediaPath:
    """The analyzer's RTP/RTCP handling outside the inline fast path: reads the calls'
    media targets in ``tracker``, binds flows in ``table``, sends orphan streams to ``sink``."""

    def __init__(
        self,
        table: FlowTable,
        tracker: CallTracker,
        sink: Callable[[Record], None],
        counters: Counters,
        *,
        min_orphan_packets: int,
        spool: CallPcapSpool | None,
        diagnosis: Diagnoser,
    ) -> None:
        self.table = table
        self.diagnosis = diagnosis
        self.flows = table.flows
        self.tracker = tracker
        self.sink = sink
        self.counters = counters
        self.min_orphan_packets = min_orphan_packets
        self.spool_rtp = spool is not None and spool.mode != SpoolMode.SIP
        self.headers_only = spool is not None and spool.mode == SpoolMode.RTP_HEADERS
        self.rtp_caplen = 54 if self.headers_only else -1
        """caplen of fast-path frames: Ethernet 14 + IPv4 20 + UDP 8 + RTP 12 (no CSRC/ext)."""

    # -- new flows --------------------------------------------------------------------------

    def on_new_flow(self, key: bytes, d: Datagram, frame: bytes) -> None:
        """First packet of a UDP 4-tuple that is not SIP: bind it through SDP, or not."""
        media = self.tracker.media
        dst_ep, src_ep = (d.dst, d.dport), (d.src, d.sport)
        target = media.get(dst_ep)
        from_src = media.get(src_ep)
        sender: str | None = None
        if target is not None and from_src is not None and from_src.call is not target.call:
            # the receiver's ip:port is announced by several calls (a media server answering
            # every call on one port): the call that announced the sender's ip:port too wins
            alt = _announced(from_src.call, dst_ep, from_src.rtcp)
            if alt is not None:
                target = alt
        if target is not None:
            sender = other_side(target.side)
        elif from_src is not None:
            target, sender = from_src, from_src.side
        payload = d.payload
        if target is None:
            if looks_like_rtp(payload) or looks_like_rtcp(payload):
                self._orphan(key, d.ts, payload, frame, d.payload_offset)
            else:
                self.counters.inc("udp.not_voip")
            return
        call = target.call
        payloads = target.payloads
        if from_src is not None and from_src.call is call and from_src is not target:
            payloads = payloads.merged_with(from_src.payloads)  # what the sender said it sends
        flow = Flow(key, RTCP if target.rtcp else RTP, call, payloads, sender)
        flow.pcap = call.pcap if self.spool_rtp else None
        self.table.bind(key, flow)
        self.on_flow(flow, key, d.ts, payload, frame, d.payload_offset)

    def _orphan(self, key: bytes, ts: float, payload: bytes, frame: bytes, poff: int) -> None:
        self.counters.inc("rtp.unbound_packets")
        flow = Flow(key, UNBOUND, None, _NO_PAYLOADS, None, self.tracker.media_generation)
        if not self.table.add_orphan(key, flow):
            self.counters.inc("rtp.unbound_untracked")
            return
        if looks_like_rtp(payload):
            self.rtp_rare(flow, ts, payload, 0, len(payload), frame, poff)

    # -- known flows ------------------------------------------------------------------------

    def on_flow(
        self, flow: Flow, key: bytes, ts: float, payload: bytes, frame: bytes, poff: int
    ) -> None:
        kind = flow.kind
        if kind == RTP:
            self.rtp_rare(flow, ts, payload, 0, len(payload), frame, poff)
        elif kind == RTCP:
            self._rtcp(flow, ts, payload, frame)
        else:
            if flow.generation != self.tracker.media_generation:
                # SDP seen since this flow was found unbound: look again
                flow.generation = self.tracker.media_generation
                src, dst, sport, dport = split_key(key)
                media = self.tracker.media
                if (dst, dport) in media or (src, sport) in media:
                    self._retire_orphan(key)
                    d = Datagram(
                        17, src, sport, dst, dport, payload, None, ts, [(ts, frame)], poff, ""
                    )
                    self.on_new_flow(key, d, frame)
                    return
            self.counters.inc("rtp.unbound_packets")
            if looks_like_rtp(payload):
                self.rtp_rare(flow, ts, payload, 0, len(payload), frame, poff)

    def rtp_rare(
        self, flow: Flow, ts: float, data: bytes, off: int, end: int, frame: bytes, poff: int
    ) -> None:
        """Any RTP packet the inline fast path did not take (new SSRC, other PT, CSRCs...)."""
        c = self.counters
        if end - off < 12:
            c.inc("rtp.too_short")
            return
        b0 = data[off]
        b1 = data[off + 1]
        if b0 & 0xC0 != 0x80:
            c.inc("rtp.bad_version")
            return
        if 200 <= b1 <= 204:  # RTCP multiplexed on the RTP port (RFC 5761)
            if flow.call is not None:
                self._rtcp(flow, ts, data[off:end], frame)
            return
        seq, rts, ssrc = _RTP_FIXED.unpack_from(data, off + 2)
        pt = b1 & 0x7F
        stream = flow.stream if ssrc == flow.ssrc else flow.streams.get(ssrc)
        if stream is None:
            if len(flow.streams) >= MAX_FLOW_STREAMS or (
                flow.call is not None and len(flow.call.streams) >= MAX_STREAMS
            ):
                c.inc("rtp.too_many_ssrcs")
                return
            stream = self._new_stream(flow, ssrc)
        if stream is not flow.stream:
            self.table.select(flow, stream, pt)
        stream.stats.add(seq, rts, ts, pt, b1 > 127)
        diag = self.diagnosis
        if not seq & diag.sample_mask and flow.call is not None:
            diag.sample_payload(stream, pt, rtp_payload(data, off, end))
        if stream.unmapped(pt):
            self._guess_event(flow, stream, pt, ts, rts, data, off, end)
        elif stream.dtmf is not None and pt in stream.payloads.events:
            payload = rtp_payload(data, off, end)
            if payload is not None:
                digit = stream.dtmf.add(rts, payload)
                if (
                    digit is not None
                    and flow.call is not None
                    and not flow.call.add_dtmf(ts, digit)
                ):
                    self.counters.inc("dtmf.too_many")
        flow.pt = stream.fast_pt()
        pcap = flow.pcap
        if pcap is not None:
            caplen = -1
            if self.headers_only and poff >= 0:
                hlen = header_len(data, off, end)
                caplen = poff + (hlen if hlen > 0 else 12)
            pcap.write(ts, frame, caplen)

    def _guess_event(
        self,
        flow: Flow,
        stream: CallStream,
        pt: int,
        ts: float,
        rts: int,
        data: bytes,
        off: int,
        end: int,
    ) -> None:
        """A payload type no SDP mapped: telephone-event if its packets have the RFC 4733
        shape (then its digits are reported and it stays out of the jitter)."""
        guesses = stream.guesses
        if guesses is None:
            guesses = stream.guesses = {}
        guess = guesses.get(pt)
        if guess is None:
            guess = guesses[pt] = EventGuess()
        elif guess.state is not None:
            return
        payload = rtp_payload(data, off, end)
        if not guess.add(ts, rts, payload if payload is not None else b""):
            return
        self.counters.inc("rtp.events_recognised")
        digits = stream.recognise_event(pt, guess)
        if flow.call is not None:
            for ts_digit, digit in digits:
                if not flow.call.add_dtmf(ts_digit, digit):
                    self.counters.inc("dtmf.too_many")

    def _new_stream(self, flow: Flow, ssrc: int) -> CallStream:
        src, dst, sport, dport = split_key(flow.key)
        stream = CallStream(src, sport, dst, dport, ssrc, flow.sender, flow.payloads, flow.pcap)
        flow.streams[ssrc] = stream
        if flow.call is not None:
            flow.call.streams.append(stream)
            self.counters.inc("rtp.streams")
        return stream

    def _rtcp(self, flow: Flow, ts: float, payload: bytes, frame: bytes) -> None:
        call = flow.call
        if call is None:
            return
        try:
            packets = parse_compound(payload)
        except RtcpParseError:
            self.counters.inc("rtcp.parse_error")
            return
        self.counters.inc("rtcp.packets")
        call.rtcp.add(ts, packets)
        if flow.pcap is not None:
            flow.pcap.write(ts, frame)

    def release(self, call: Call, endpoint: tuple[bytes, int]) -> None:
        """Forget ``call``'s flows to or from ``endpoint`` (now another call's): their next
        packet binds afresh. The streams counted so far stay in ``call``."""
        n = self.table.release(call, endpoint)
        if n:
            self.counters.inc("rtp.flows_rebound", n)

    # -- orphans ----------------------------------------------------------------------------

    def _retire_orphan(self, key: bytes) -> None:
        """Forget the flow at ``key``; report its streams if it was an orphan."""
        flow = self.table.remove_orphan(key)
        if flow is None:
            return
        for s in flow.streams.values():
            if self._plausible_rtp(s):
                self.counters.inc("rtp.orphan_streams")
                self.sink(stream_record(s, None))

    def _plausible_rtp(self, s: CallStream) -> bool:
        """Is an unbound SSRC worth a stream record? RTP uses dynamic ports (>= 1024), and a
        real stream's sequence numbers roughly count its packets (random bytes' do not)."""
        st = s.stats
        return (
            st.packets >= self.min_orphan_packets
            and s.sport >= 1024
            and s.dport >= 1024
            and -st.packets <= st.lost <= 2 * st.packets + 10
        )

    def adopt_orphans(self, call: Call) -> None:
        """``call`` was adopted mid-dialog (no SDP seen): the unbound RTP flows between its
        two signalling hosts become its streams when they are one RTP session (one pair of
        endpoints, either direction); several sessions between those hosts are several calls:
        none is taken (counted ``rtp.adopt_ambiguous``)."""
        a, b = call.caller_ip, call.called_ip
        if not a or not b:
            return
        session: tuple[tuple[bytes, int], ...] | None = None
        keys: list[bytes] = []
        for key, cand in self.table.orphans.items():
            if not cand.streams:
                continue
            src, dst, sport, dport = split_key(key)
            if (src, dst) not in ((a, b), (b, a)):
                continue
            pair = tuple(sorted(((src, sport), (dst, dport))))
            if session is not None and pair != session:
                self.counters.inc("rtp.adopt_ambiguous")
                return
            session = pair
            keys.append(key)
        for key in keys:
            flow = self.table.remove_orphan(key)
            if flow is None:
                continue
            src = split_key(key)[0]
            flow.call, flow.kind = call, RTP
            flow.sender = None if a == b else CALLER if src == a else CALLEE
            for stream in flow.streams.values():
                stream.sender = flow.sender
                call.streams.append(stream)
                self.counters.inc("rtp.adopted_streams")
            self.table.bind(key, flow)

    def attach_pcap(self, call: Call) -> None:
        """``call``'s pcap was opened after its flows were bound: their RTP goes there too."""
        if not self.spool_rtp:
            return
        for key in call.flow_keys:
            flow = self.table.flows.get(key)
            if flow is not None and flow.call is call:
                flow.pcap = call.pcap
                for stream in flow.streams.values():
                    stream.pcap = call.pcap

    def expire(self, now: float) -> None:
        for k in self.table.idle_orphans(now, ORPHAN_IDLE_S):
            self._retire_orphan(k)

    def drain(self) -> None:
        for k in list(self.table.orphans):
            self._retire_orphan(k)
