"""The analyzer's side of the diagnosis: SIP notes and leg keys while a call is up, audio level
samples, the sensor's drops, and the problems, PDD and legs written into each call record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from db.records import LegKeys
from db.settings import DiagnosisSettings
from sniffer.diagnosis import audio_rules, media_rules, network_rules, sip_rules
from sniffer.diagnosis.drops import DropLedger
from sniffer.diagnosis.facts import Facts, endpoint
from sniffer.diagnosis.legkeys import read_keys
from sniffer.diagnosis.legs import LegIndex, LegState, MediaSpan
from sniffer.diagnosis.level import ALAW, LOUD_SHARE_DIV, ULAW, LevelMeter, quiet_codes
from sniffer.diagnosis.notes import MAX_ANNOUNCED, MAX_RETRANSMISSION_KINDS, CallNotes
from sniffer.diagnosis.registry import RULES, diagnose

if TYPE_CHECKING:
    from db.records import CallRecord
    from sniffer.calls.call import Call
    from sniffer.calls.media import CallStream
    from sniffer.flows import Flow
    from sniffer.sip.message import SipMessage

RULE_MODULES = (media_rules, audio_rules, sip_rules, network_rules)
"""Importing them registers their rules (:data:`sniffer.diagnosis.registry.RULES`)."""
DROP_SLACK_S = 1.0
"""Drops are sampled once a second: those counted up to a second after the call count too."""
MAX_PDD_MS = 3_600_000
"""A longer post-dial delay is a capture clock jump: reported as null."""
_NO_METER = LevelMeter(None, -1)


class Diagnoser:
    """One per analyzer."""

    def __init__(self, cfg: DiagnosisSettings | None = None) -> None:
        self.cfg = cfg = cfg or DiagnosisSettings()
        self.enabled = cfg.enabled
        self.headers = tuple(h.lower() for h in cfg.leg_headers)
        self.drops = DropLedger()
        self.legs = LegIndex(cfg.leg_window_s, cfg.same_media_window_s)
        self.sample_mask = cfg.silence_sample_every - 1 if cfg.enabled else 0xFFFF
        """The fast path samples a packet when ``not seq & sample_mask`` (a 64 K tuple of flags
        indexed by ``seq`` is fewer instructions but more CPU time: docs/BENCHMARKS.md)."""
        self.quiet = {enc: quiet_codes(enc, cfg.silence_dbov) for enc in (ULAW, ALAW)}
        """Per G.711 encoding, the codes below ``silence_dbov``."""

    # -- while the call is up ---------------------------------------------------------------

    def on_sip(self, call: Call, msg: SipMessage, ts: float, src: bytes, retrans: bool) -> None:
        """Note a SIP message of ``call`` (for ``pdd_ms`` even when the diagnosis is off); the
        leg keys of an INVITE or a response to one."""
        keyed = self.enabled and not retrans and msg.method == "INVITE"
        before = (0, 0, 0)
        if keyed and call.notes is not None:
            k = call.notes.keys
            before = (len(k.cids), len(k.session_ids), len(k.icids))
        notes = observe(call, msg, ts, src, retrans, self.headers if keyed else None)
        if not self.enabled:
            return
        leg = notes.leg
        if leg is None:
            leg = notes.leg = LegState(call.uid, call.call_id, call.first_ts, call.uid)
            self.legs.add_call_id(leg)
        if not keyed:
            return
        k = notes.keys
        for kind, values, n in (
            ("cid", k.cids, before[0]),
            ("session-id", k.session_ids, before[1]),
            ("icid", k.icids, before[2]),
        ):
            if len(values) > n:
                self.legs.add_keys(leg, kind, values[n:])

    def sample(self, flow: Flow, buf: bytes) -> None:
        """A fast-path packet (Ethernet, IPv4, RTP header of 12 bytes at offset 42), measured
        inline: one call per sampled packet."""
        stream = flow.stream
        if stream is None:
            return
        meter = stream.level
        if meter is None:
            meter = self._meter(stream)
        quiet = meter.quiet
        if quiet is not None and flow.pt == meter.pt:
            end = 14 + ((buf[16] << 8) | buf[17])
            n = end - 54
            if n > 0:
                meter.total += 1
                if len(buf[54:end].translate(None, quiet)) * LOUD_SHARE_DIV < n:
                    meter.silent += 1

    def sample_payload(self, stream: CallStream, pt: int, payload: bytes | None) -> None:
        """A sampled packet of payload type ``pt``: measured when ``pt`` is the stream's main
        payload type and that is G.711."""
        meter = stream.level
        if meter is None:
            meter = self._meter(stream)
        if pt == meter.pt and payload is not None:
            meter.add(payload)

    def _meter(self, stream: CallStream) -> LevelMeter:
        main = stream.stats.payload_type
        quiet = self.quiet.get(stream.payloads.encoding(main))
        meter = stream.level = LevelMeter(quiet, main) if quiet is not None else _NO_METER
        return meter

    def record_drops(self, ts: float, kernel: int, queue: int) -> None:
        self.drops.record(ts, kernel, queue)

    def expire(self, now: float) -> None:
        self.legs.expire(now)

    # -- the record -------------------------------------------------------------------------

    def finish(self, call: Call, rec: CallRecord) -> None:
        """Fill ``pdd_ms``, ``problems`` and the legs of the record of ``call``."""
        rec.pdd_ms = pdd_ms(call)
        if not self.enabled:
            return
        notes = call.notes if call.notes is not None else CallNotes()
        leg = notes.leg
        if leg is None:
            leg = notes.leg = LegState(call.uid, call.call_id, call.first_ts, call.uid)
            self.legs.add_call_id(leg)
        k = notes.keys
        try:
            spans: list[MediaSpan] = []
            ssrcs: dict[int, None] = {}  # in order, once each
            for s in call.streams:
                st = s.stats
                if st.packets:
                    spans.append(MediaSpan(s.ssrc, st.first_ts, st.last_ts))
                    ssrcs[s.ssrc] = None
            self.legs.add_media(leg, spans)
            rec.leg_group = leg.group
            rec.leg_links = list(leg.links)
            media: dict[str, None] = {}
            for _side, ip, port, _sig in notes.announced:
                media[endpoint(ip, port)] = None
            rec.leg_keys = LegKeys(
                list(k.cids), list(k.session_ids), list(k.icids), list(media), list(ssrcs)
            )
            drops = self.drops.between(rec.invite_ts, rec.end_ts + DROP_SLACK_S)
            rec.problems = diagnose(Facts.of(call, rec, self.cfg, drops), RULES)
        finally:  # whatever happens, the call's keys now age out
            keys = [("call-id", call.call_id)]
            for kind, values in (("cid", k.cids), ("session-id", k.session_ids), ("icid", k.icids)):
                for x in values:
                    keys.append((kind, x))
            self.legs.close(leg, rec.end_ts, keys)


def pdd_ms(call: Call) -> int | None:
    """The last initial INVITE (after a challenge, the re-sent one) to the first 18x, else to
    the final response; None without both, or beyond :data:`MAX_PDD_MS` (a clock jump)."""
    notes = call.notes
    if not call.invite_seen or call.invite_ts is None:
        return None
    start = call.invite_ts
    stops = [t for t in (call.final_ts,) if t is not None]
    if notes is not None:
        if notes.invite_ts is not None:
            start = notes.invite_ts
        if notes.first_18x_ts is not None:
            stops.append(notes.first_18x_ts)
    if not stops:
        return None
    pdd = round((min(stops) - start) * 1000.0)
    return pdd if 0 <= pdd <= MAX_PDD_MS else None


def _label(msg: SipMessage) -> str:
    return msg.method[:20] if msg.is_request else f"{msg.status} {msg.method[:20]}"


def observe(
    call: Call,
    msg: SipMessage,
    ts: float,
    src: bytes,
    retransmission: bool,
    headers: tuple[str, ...] | None,
) -> CallNotes:
    """Note one SIP message already applied to ``call`` (``retransmission``: the tracker
    counted it as one). ``headers``: lower-case names of the leg correlation headers, None
    when no keys are wanted."""
    notes = call.notes
    if notes is None:
        notes = call.notes = CallNotes()
    if retransmission:
        label = _label(msg)
        counts = notes.retransmitted
        if label in counts or len(counts) < MAX_RETRANSMISSION_KINDS:
            counts[label] = counts.get(label, 0) + 1
        return notes
    method = msg.method
    initial = msg.cseq_num == call.initial_cseq
    if msg.is_request:
        if (
            method == "INVITE"
            and initial
            and msg.to.tag is None
            and msg.cseq_num != notes.invite_cseq
        ):
            notes.invite_cseq = msg.cseq_num  # the initial INVITE, or its re-sent copy
            notes.invite_ts = ts
            notes.first_18x_ts = None
        elif method == "ACK" and initial and notes.ack_ts is None:
            notes.ack_ts = ts
    elif method == "INVITE" and initial and 180 <= msg.status < 190 and notes.first_18x_ts is None:
        notes.first_18x_ts = ts
    targets = call.media_targets
    if len(targets) > notes.seen_targets:
        for (ip, port), target in targets[notes.seen_targets :]:
            if not target.rtcp and len(notes.announced) < MAX_ANNOUNCED:
                notes.announced.append((target.side, ip, port, src))
        notes.seen_targets = len(targets)
    if headers is not None and method == "INVITE":
        read_keys(notes.keys, msg, headers)
    return notes
