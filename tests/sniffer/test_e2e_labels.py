"""End to end: the call flags and stream labels that the diagnosis builds on (issue 8 item 4),
each on a generated capture that reproduces what real captures showed: hold and media_changed
only on renegotiations, the agreed codecs read with the offer, no voice MOS for video or for
codecs without a basis, max delta without a clock rate (telephone-events in RTP without SDP
and the playout buffer following clock drift: test_e2e_stream_labels.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from db.records import CallRecord, StreamRecord
from tests.pcapgen import DtmfEvent, IpPacket, RtpArrival, RtpStreamSpec, build_stream, sip
from tests.pcapgen.sipcore import request
from tests.sniffer.e2e import T0, Run, analyze_scenario, documented_jitter

A_IP, B_IP = "10.0.0.1", "10.0.0.2"
A_RTP, B_RTP = 40000, 50000
PCMU_TE = ("0 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000")


def sdp(
    ip: str, *media: tuple[str, int, str, Sequence[str]], direction: str | None = None
) -> bytes:
    """SDP with the given ``(media, port, formats, attribute lines)`` sections."""
    lines = ["v=0", f"o=- 7 {len(media)} IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0"]
    if direction is not None:
        lines.append(f"a={direction}")
    for kind, port, formats, attrs in media:
        lines.append(f"m={kind} {port} RTP/AVP {formats}")
        lines += attrs
    return ("\r\n".join(lines) + "\r\n").encode()


def audio(port: int, formats: str, *attrs: str) -> tuple[str, int, str, Sequence[str]]:
    return ("audio", port, formats, attrs)


@dataclass
class Dialog:
    """An INVITE dialog between alice (10.0.0.1) and bob (10.0.0.2), message by message."""

    call_id: str
    t: float = T0
    packets: list[IpPacket] = field(default_factory=list)
    cseq: int = 1

    def _send(self, msg: bytes, from_caller: bool, dt: float = 0.01) -> bytes:
        self.t = round(self.t + dt, 6)
        src, dst = (A_IP, B_IP) if from_caller else (B_IP, A_IP)
        self.packets.append(IpPacket(self.t, src, 5060, dst, 5060, "udp", msg))
        return msg

    def _request(self, method: str, body: bytes, in_dialog: bool) -> bytes:
        return request(
            method, f"sip:bob@{B_IP}", call_id=self.call_id, from_uri=f"sip:alice@{A_IP}",
            from_tag="fa", to_uri=f"sip:bob@{B_IP}", to_tag="tb" if in_dialog else None,
            cseq=self.cseq, via=f"{A_IP}:5060", contact=f"<sip:alice@{A_IP}:5060>", body=body,
        )  # fmt: skip

    def setup(self, offer: bytes, answer: bytes) -> None:
        """INVITE (offer), 100, 180, 200 (answer), ACK."""
        inv = self._send(self._request("INVITE", offer, False), True)
        self._send(sip.response(inv, 100), False)
        self._send(sip.response(inv, 180, to_tag="tb"), False)
        ok = self._send(
            sip.response(inv, 200, to_tag="tb", sdp=answer, contact=f"<sip:bob@{B_IP}>"), False
        )
        self._send(sip.ack(inv, ok), True)

    def renegotiate(self, method: str, offer: bytes, answer: bytes) -> None:
        """A re-INVITE (then ACK) or an UPDATE from the caller, answered 200 with SDP."""
        self.cseq += 1
        req = self._send(self._request(method, offer, True), True, dt=0.5)
        ok = self._send(sip.response(req, 200, sdp=answer, contact=f"<sip:bob@{B_IP}>"), False)
        if method == "INVITE":
            self._send(sip.ack(req, ok), True)

    def rtp(self, from_caller: bool, arrivals: Sequence[RtpArrival], dst_port: int = 0) -> None:
        src, dst = (A_IP, B_IP) if from_caller else (B_IP, A_IP)
        sport, dport = (A_RTP, B_RTP) if from_caller else (B_RTP, A_RTP)
        for a in arrivals:
            self.packets.append(IpPacket(a.ts, src, sport, dst, dst_port or dport, "udp",
                                         a.payload, "rtp"))  # fmt: skip

    def bye(self) -> None:
        self.cseq += 1
        self.t = max([self.t, *(p.ts for p in self.packets)])
        req = self._send(self._request("BYE", b"", True), True, dt=0.05)
        self._send(sip.response(req, 200), False)

    def run(self) -> tuple[CallRecord, Run]:
        run = analyze_scenario(sorted(self.packets, key=lambda p: p.ts))
        return run.call(self.call_id), run


def stream(rec: CallRecord, ssrc: int) -> StreamRecord:
    (s,) = [s for s in rec.streams if s.ssrc == ssrc]
    return s


def media_spec(ssrc: int, **kw: object) -> RtpStreamSpec:
    base: dict[str, object] = {"ssrc": ssrc, "count": 100, "start_time": T0 + 1.0}
    base.update(kw)
    return RtpStreamSpec(**base)  # type: ignore[arg-type]


# -- hold ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offer_dir", "answer_dir"), [("recvonly", "sendonly"), ("sendonly", "recvonly"),
                                  ("inactive", "inactive")],
)  # fmt: skip
def test_one_way_initial_offer_is_not_hold(offer_dir: str, answer_dir: str) -> None:
    """An announcement or a one-way leg set up recvonly/sendonly from the start: no re-INVITE
    happened, so nothing was put on hold (the 200 OK's own SDP used to count as a change)."""
    d = Dialog("oneway@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE), direction=offer_dir),
            sdp(B_IP, audio(B_RTP, *PCMU_TE), direction=answer_dir))  # fmt: skip
    d.rtp(False, build_stream(media_spec(0xB0B))[0])
    d.bye()
    rec, _ = d.run()
    assert "hold" not in rec.flags and "media_changed" not in rec.flags
    assert rec.codecs == ["PCMU"]


def test_sendonly_reinvite_is_hold() -> None:
    """The near miss: the same direction in a re-INVITE is a hold."""
    d = Dialog("hold@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.renegotiate("INVITE", sdp(A_IP, audio(A_RTP, *PCMU_TE), direction="sendonly"),
                  sdp(B_IP, audio(B_RTP, *PCMU_TE), direction="recvonly"))  # fmt: skip
    d.bye()
    rec, _ = d.run()
    assert {"hold", "reinvite"} <= set(rec.flags) and "media_changed" not in rec.flags


# -- media_changed ---------------------------------------------------------------------------

MULTI = ("0 8 18 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:18 G729/8000",
         "a=rtpmap:101 telephone-event/8000")  # fmt: skip


def test_several_codecs_in_one_answer_are_not_a_media_change() -> None:
    d = Dialog("multi@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *MULTI)),
            sdp(B_IP, audio(B_RTP, "0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
                            "a=rtpmap:101 telephone-event/8000")))  # fmt: skip
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMU", "PCMA"]
    assert "media_changed" not in rec.flags


def test_update_that_only_narrows_the_codecs_is_not_a_media_change() -> None:
    d = Dialog("narrow@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *MULTI)),
            sdp(B_IP, audio(B_RTP, "0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
                            "a=rtpmap:101 telephone-event/8000")))  # fmt: skip
    d.renegotiate("UPDATE", sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMU", "PCMA"]
    assert "media_changed" not in rec.flags and "hold" not in rec.flags


@pytest.mark.parametrize("method", ["UPDATE", "INVITE"])
def test_renegotiated_new_codec_or_port_is_a_media_change(method: str) -> None:
    """The near misses: a codec not agreed before, or a new port, in a renegotiation."""
    d = Dialog(f"newcodec-{method}@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *MULTI)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    g729 = ("18", "a=rtpmap:18 G729/8000")
    d.renegotiate(method, sdp(A_IP, audio(A_RTP, *g729)), sdp(B_IP, audio(B_RTP, *g729)))
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMU", "G729"] and "media_changed" in rec.flags
    d = Dialog(f"newport-{method}@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.renegotiate(method, sdp(A_IP, audio(A_RTP + 10, *PCMU_TE)), sdp(B_IP, audio(B_RTP, *PCMU_TE)))
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMU"] and "media_changed" in rec.flags


# -- codecs ----------------------------------------------------------------------------------


def test_answer_without_rtpmap_keeps_the_offers_telephone_event() -> None:
    """The answer lists 101 without an rtpmap; the offer maps it to telephone-event: not a
    codec 'PT101', and the callee's digits are decoded (and kept out of the jitter)."""
    d = Dialog("pt101@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE)), sdp(B_IP, audio(B_RTP, "0 101")))
    spec = media_spec(0xB0B, count=150, dtmf=(DtmfEvent("7", 40), DtmfEvent("#", 90)),
                      jitter_ms={i: (i * 7 % 5) * 0.8 for i in range(150)})  # fmt: skip
    arrivals, _ = build_stream(spec)
    d.rtp(False, arrivals)
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMU"]
    assert rec.dtmf == "7#"
    s = stream(rec, 0xB0B)
    assert (s.telephone_events, s.codec) == (16, "PCMU")
    assert (s.max_delta_ms, s.max_jitter_ms, s.mean_jitter_ms) == pytest.approx(
        documented_jitter(arrivals, 8000), abs=0.001
    )


def test_codecs_never_offered_are_not_agreed_and_names_are_normalised() -> None:
    d = Dialog("unoffered@labels")
    d.setup(sdp(A_IP, audio(A_RTP, "8 0 101", "a=rtpmap:8 pcma/8000", "a=rtpmap:0 pcmu/8000",
                            "a=rtpmap:101 telephone-event/8000")),
            sdp(B_IP, audio(B_RTP, "8 9 0 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:9 G722/8000",
                            "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000")))  # fmt: skip
    d.rtp(True, build_stream(media_spec(0xA0A, pt=8))[0])
    d.bye()
    rec, _ = d.run()
    assert rec.codecs == ["PCMA", "PCMU"]  # G722 was never offered; pcma is PCMA
    assert stream(rec, 0xA0A).codec == "PCMA"


# -- MOS -------------------------------------------------------------------------------------


def test_video_streams_get_no_voice_mos() -> None:
    """Audio and video m-lines: H.263 (static 34) and VP8 (rtpmap) on the video port get no
    MOS; the audio stream does."""
    video = ("video", A_RTP + 2, "34 96", ("a=rtpmap:34 H263/90000", "a=rtpmap:96 VP8/90000"))
    bvideo = ("video", B_RTP + 2, "34 96", ("a=rtpmap:34 H263/90000", "a=rtpmap:96 VP8/90000"))
    d = Dialog("video@labels")
    d.setup(sdp(A_IP, audio(A_RTP, *PCMU_TE), video), sdp(B_IP, audio(B_RTP, *PCMU_TE), bvideo))
    d.rtp(True, build_stream(media_spec(0xA0A))[0])
    for ssrc, pt in ((0x71DE0, 34), (0x71DE1, 96)):
        v = media_spec(ssrc, pt=pt, clock=90000, ptime_ms=40, payload_size=900)
        d.rtp(True, build_stream(v)[0], dst_port=B_RTP + 2)
    d.bye()
    rec, _ = d.run()
    assert "media_changed" not in rec.flags
    assert rec.codecs == ["PCMU", "H263", "VP8"]
    assert stream(rec, 0xA0A).mos is not None
    for ssrc, codec in ((0x71DE0, "H263"), (0x71DE1, "VP8")):
        s = stream(rec, ssrc)
        assert (s.codec, s.mos) == (codec, None)
        assert s.max_jitter_ms is not None  # video still has jitter figures (90 kHz clock)


@pytest.mark.parametrize(
    ("rtpmap", "same_as"),
    [("AAL2-G726-32/8000", "G726-32/8000"), ("AAL2-G726-24/8000", "G726-24/8000")],
)
def test_codec_aliases_get_the_codecs_mos(rtpmap: str, same_as: str) -> None:
    moses = []
    for name in (rtpmap, same_as):
        d = Dialog(f"{name}@labels")
        media = ("97", f"a=rtpmap:97 {name}")
        d.setup(sdp(A_IP, audio(A_RTP, *media)), sdp(B_IP, audio(B_RTP, *media)))
        d.rtp(True, build_stream(media_spec(0xA0A, pt=97, payload_size=80,
                                            loss=frozenset({10, 50})))[0])  # fmt: skip
        d.bye()
        rec, _ = d.run()
        moses.append(stream(rec, 0xA0A).mos)
    assert moses[0] is not None and moses[0] == moses[1]


def test_no_invented_mos_for_codecs_without_a_basis() -> None:
    """LPC (static 7) and an unknown dynamic codec: no impairment values, no MOS (they used to
    be rated as G.711); G.726-40 is rated on its own values, below G.711."""
    moses: dict[str, float | None] = {}
    for name, pt, rtpmap in (("LPC", 7, None), ("X-NEWCODEC", 98, "X-NEWCODEC/8000"),
                             ("G726-40", 99, "G726-40/8000"), ("PCMA", 8, None)):  # fmt: skip
        d = Dialog(f"{name}@labels")
        media = (str(pt), *([f"a=rtpmap:{pt} {rtpmap}"] if rtpmap else []))
        d.setup(sdp(A_IP, audio(A_RTP, *media)), sdp(B_IP, audio(B_RTP, *media)))
        d.rtp(True, build_stream(media_spec(0xA0A, pt=pt))[0])
        d.bye()
        rec, _ = d.run()
        s = stream(rec, 0xA0A)
        assert s.codec == name and s.max_jitter_ms is not None
        moses[name] = s.mos
    assert moses["LPC"] is None and moses["X-NEWCODEC"] is None
    assert moses["G726-40"] is not None and moses["PCMA"] is not None
    assert moses["G726-40"] < moses["PCMA"]


# -- delta and jitter without a clock rate ----------------------------------------------------


def test_max_delta_without_a_clock_rate_and_null_jitter() -> None:
    """PT 98 offered without an rtpmap: no clock rate, so no jitter (null, not 0.0) and no
    MOS; the 40 ms gap of a lost packet still shows in max delta (it used to read 0.0)."""
    d = Dialog("noclock@labels")
    d.setup(sdp(A_IP, audio(A_RTP, "98")), sdp(B_IP, audio(B_RTP, "98")))
    d.rtp(True, build_stream(media_spec(0xA0A, pt=98, loss=frozenset({30})))[0])
    d.bye()
    rec, _ = d.run()
    s = stream(rec, 0xA0A)
    assert (s.codec, s.lost, s.telephone_events) == ("PT98", 1, 0)
    assert s.max_delta_ms == pytest.approx(40.0, abs=0.001)
    assert (s.max_jitter_ms, s.mean_jitter_ms, s.mos, s.playout_discard_pct) == (
        None, None, None, None)  # fmt: skip
