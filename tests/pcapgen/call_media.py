"""RTP/RTCP of a :class:`tests.pcapgen.scenario.Call`: streams per phase, RTCP reports, truth."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from tests.pcapgen.rtp import rtcp_sdes, rtcp_sr
from tests.pcapgen.sdp import Codec
from tests.pcapgen.sipcore import token
from tests.pcapgen.stream import (
    DtmfEvent,
    ReceiverState,
    RtpArrival,
    RtpStreamSpec,
    build_stream,
    receiver_report,
)
from tests.pcapgen.truth import IpPacket, Party, RtcpTruth, StreamTruth

if TYPE_CHECKING:
    from tests.pcapgen.scenario import Call

Direction = Literal["caller", "callee"]
Phase = Literal["early", "main", "after_reinvite"]
PTIME_MS = 20
DTMF_FIRST_SLOT = 10
DTMF_SPACING = 15
DTMF_PACKETS = 8
PCMA: Codec = (8, "PCMA", 8000)


@dataclass(frozen=True)
class MediaOpts:
    """Identity and impairments of one direction's main stream (slot indices, see
    :class:`tests.pcapgen.stream.RtpStreamSpec`). None = derived from the Call-ID."""

    ssrc: int | None = None
    start_seq: int | None = None
    loss: frozenset[int] = frozenset()
    duplicates: frozenset[int] = frozenset()
    reorder: tuple[tuple[int, int], ...] = ()
    jitter_ms: Mapping[int, float] = field(default_factory=dict)


@dataclass
class _Stream:
    direction: Direction
    phase: Phase
    src: tuple[str, int]
    dst: tuple[str, int]
    codec: str
    spec: RtpStreamSpec
    arrivals: list[RtpArrival]
    truth: StreamTruth


def _split(codecs: tuple[Codec, ...]) -> tuple[Codec, Codec | None]:
    audio = next(c for c in codecs if c[1].lower() != "telephone-event")
    event = next((c for c in codecs if c[1].lower() == "telephone-event"), None)
    return audio, event


class MediaPlan:
    """Builds the streams of a call phase by phase and collects their packets and truth."""

    def __init__(self, call: "Call") -> None:
        self.c = call
        self.audio, self.event = _split(call.codecs)
        self.answer_codecs = self.answer_codecs_for(call.codecs)
        self.streams: list[_Stream] = []
        self.packets: list[IpPacket] = []
        self.dtmf_times: list[tuple[float, str]] = []
        self.caller_port = call.caller.rtp_port

    @staticmethod
    def answer_codecs_for(offer: tuple[Codec, ...]) -> tuple[Codec, ...]:
        """The callee accepts the first audio codec and telephone-event if offered."""
        audio, event = _split(offer)
        return (audio,) if event is None else (audio, event)

    def _add(
        self,
        direction: Direction,
        phase: Phase,
        start: float,
        dur: float,
        codec: Codec,
        opts: MediaOpts | None = None,
        dtmf: str = "",
    ) -> float:
        """Add one stream; returns its last arrival time (``start`` if RTP is off)."""
        c = self.c
        if not c.rtp or dur <= 0:
            return start
        count = max(1, round(dur * 1000 / PTIME_MS))
        a, b = c.caller, c.callee
        caller_ep = (a.media, self.caller_port)
        callee_ep = (b.media, b.rtp_port)
        src, dst = (caller_ep, callee_ep) if direction == "caller" else (callee_ep, caller_ep)
        opts = opts or MediaOpts()
        seed = (c.call_id, direction, phase)
        events = tuple(
            DtmfEvent(d, DTMF_FIRST_SLOT + DTMF_SPACING * k, DTMF_PACKETS)
            for k, d in enumerate(dtmf)
        )
        spec = RtpStreamSpec(
            ssrc=opts.ssrc if opts.ssrc is not None else int(token(*seed, "ssrc", n=8), 16),
            pt=codec[0],
            clock=codec[2],
            ptime_ms=PTIME_MS,
            start_seq=opts.start_seq
            if opts.start_seq is not None
            else int(token(*seed, "seq"), 16) % 65536,
            start_ts=int(token(*seed, "ts", n=8), 16),
            count=count,
            start_time=start,
            payload_size=codec[2] * PTIME_MS // 1000,
            loss=opts.loss,
            duplicates=opts.duplicates,
            reorder=opts.reorder,
            jitter_ms=opts.jitter_ms,
            dtmf=events,
            event_pt=self.event[0] if self.event else 101,
        )
        arrivals, expected = build_stream(spec)
        for ev in events:
            self.dtmf_times.append((start + ev.start * PTIME_MS / 1000, ev.digit))
        self.packets += [
            IpPacket(x.ts, src[0], src[1], dst[0], dst[1], "udp", x.payload, "rtp")
            for x in arrivals
        ]
        truth = StreamTruth(
            src[0],
            src[1],
            dst[0],
            dst[1],
            spec.ssrc,
            codec[0],
            codec[1],
            direction,
            phase,
            expected,
        )
        self.streams.append(_Stream(direction, phase, src, dst, codec[1], spec, arrivals, truth))
        return arrivals[-1].ts

    def early(self, start: float, dur: float) -> None:
        """Callee's early media after a 183 with SDP."""
        self._add("callee", "early", start, dur, self.audio)

    def main(self, answer_ts: float, dur: float) -> float:
        """Both main streams (and RTCP); returns the last media packet time."""
        c = self.c
        e1 = self._add("callee", "main", answer_ts + 0.020, dur, self.audio, c.callee_media)
        e2 = self._add("caller", "main", answer_ts + 0.030, dur, self.audio, c.caller_media, c.dtmf)
        if c.dtmf and not self.event:
            raise ValueError("RFC 4733 DTMF needs telephone-event in the offered codecs")
        if c.rtcp:
            self._rtcp()
        return max(e1, e2, answer_ts)

    def reinvite_offer(self, kind: str) -> tuple[int, tuple[Codec, ...], str, str]:
        """``(caller port, offered codecs, offer direction, answer direction)``."""
        c = self.c
        if kind == "hold":
            return self.caller_port, c.codecs, "sendonly", "recvonly"
        if kind == "port":
            return self.caller_port + 100, c.codecs, "sendrecv", "sendrecv"
        return (
            self.caller_port,
            (PCMA,) + ((self.event,) if self.event else ()),
            "sendrecv",
            "sendrecv",
        )

    def after_reinvite(self, start: float, dur: float, kind: str) -> float:
        if kind == "port":
            self.caller_port += 100
        codec = PCMA if kind == "codec" else self.audio
        e1 = start if kind == "hold" else self._add("callee", "after_reinvite", start, dur, codec)
        e2 = self._add("caller", "after_reinvite", start + 0.010, dur, codec)
        return max(e1, e2)

    def _rtcp(self) -> None:
        """Each party sends SR + SDES every ``rtcp_interval_s`` (first after half of it) while
        its main stream runs, with one report block about the main stream it receives."""
        mains = {s.direction: s for s in self.streams if s.phase == "main"}
        stats: dict[int, list[tuple[int, int, int]]] = {}
        srs: dict[int, int] = {}
        for direction, out in mains.items():
            inc = mains.get("callee" if direction == "caller" else "caller")
            party: Party = self.c.caller if direction == "caller" else self.c.callee
            t, state = out.spec.start_time + self.c.rtcp_interval_s / 2, ReceiverState()
            while (t := round(t, 6)) <= out.arrivals[-1].ts:
                blocks = []
                if inc is not None and (rep := receiver_report(inc.spec, inc.arrivals, t, state)):
                    block, state = rep
                    blocks.append(block)
                    stats.setdefault(inc.spec.ssrc, []).append(
                        (block.cumulative_lost, block.fraction_lost, block.jitter)
                    )
                sent = sum(1 for x in out.arrivals if x.ts <= t)
                rtp_ts = out.spec.start_ts + round((t - out.spec.start_time) * out.spec.clock)
                data = rtcp_sr(
                    out.spec.ssrc, t, rtp_ts, sent, sent * out.spec.payload_size, blocks
                ) + rtcp_sdes(out.spec.ssrc, f"{party.user}@{party.media}")
                src, dst = out.src, out.dst
                self.packets.append(
                    IpPacket(t, src[0], src[1] + 1, dst[0], dst[1] + 1, "udp", data, "rtcp")
                )
                srs[out.spec.ssrc] = srs.get(out.spec.ssrc, 0) + 1
                t += self.c.rtcp_interval_s
        for s in mains.values():
            got = stats.get(s.spec.ssrc, [])
            s.truth = replace(
                s.truth,
                rtcp=RtcpTruth(
                    sr_count=srs.get(s.spec.ssrc, 0),
                    report_blocks=len(got),
                    cumulative_lost=got[-1][0] if got else None,
                    fraction_lost_max=max(g[1] for g in got) / 256 if got else None,
                    jitter_max_ms=max(g[2] for g in got) * 1000 / s.spec.clock if got else None,
                ),
            )

    def truths(self) -> list[StreamTruth]:
        return [s.truth for s in self.streams]
