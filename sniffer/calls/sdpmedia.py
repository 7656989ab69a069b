"""The SDP media index of the open calls: which call's media an ip:port receives, from every
SDP offer and answer (rules in :mod:`sniffer.calls.tracker`), and the codecs the answers agree."""

from __future__ import annotations

from collections.abc import Callable

from sniffer.calls.call import MAX_CODECS, MAX_MEDIA_TARGETS, Call, MediaTarget
from sniffer.calls.media import PayloadMap, other_side
from sniffer.calls.negotiation import agreed_codecs, offered_line
from sniffer.counters import Counters
from sniffer.netaddr import text_to_ip
from sniffer.sip.message import SipMessage, extract_sdp
from sniffer.sip.sdp import MediaDescription, SdpParseError, SessionDescription


def _ignore(call: Call, endpoint: tuple[bytes, int]) -> None:
    return None


class SdpMedia:
    """Applies the SDP of the calls' messages: registers the receive endpoints each side
    announces, flags hold and media changes on renegotiations, and sets the agreed codecs."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.media: dict[tuple[bytes, int], MediaTarget] = {}
        self.generation = 0
        """Bumped whenever an SDP adds endpoints: cached 'unbound' flows must look again."""
        self.on_endpoint_taken: Callable[[Call, tuple[bytes, int]], None] = _ignore
        """Called when a new call's SDP claims an endpoint of an ended call (set by the
        analyzer, which owns the flows)."""

    # -- SDP --------------------------------------------------------------------------------

    def apply(self, call: Call, msg: SipMessage, side: str, *, offer: bool, reneg: bool) -> None:
        """Apply the SDP of ``msg`` sent by ``side``. ``reneg``: it belongs to a renegotiation
        (re-INVITE, UPDATE after the answer), not to the initial offer/answer."""
        try:
            sdp = extract_sdp(msg)
        except SdpParseError:
            self.counters.inc("sdp.parse_error")
            return
        if sdp is None:
            return
        if not msg.is_request and msg.status < 200:
            call.flags.add("early_media")
        if msg.is_request:
            is_answer = not offer
        else:
            # an answer when the other side has an offer outstanding, else a (late) offer
            is_answer = call.pending_offer == other_side(side)
        offer_media = None
        if is_answer and call.offer_side == other_side(side):
            offer_media = call.offer_media
        self._register_media(call, sdp, side, offer_media, reneg)
        if is_answer:
            self._set_codecs(call, sdp, offer_media, reneg)
            call.pending_offer = None
            call.offer_side = call.offer_media = None  # answered: its memory is not kept
        else:
            call.pending_offer = side
            call.offer_side = side
            call.offer_media = sdp.media

    def _register_media(
        self,
        call: Call,
        sdp: SessionDescription,
        side: str,
        offer_media: list[MediaDescription] | None,
        reneg: bool,
    ) -> None:
        had_media = any(t.side == side and not t.rtcp for _k, t in call.media_targets)
        for i, m in enumerate(sdp.media):
            if m.port == 0 or m.media not in ("audio", "video") or not m.connection:
                continue
            ip = text_to_ip(m.connection)
            if ip is None:
                self.counters.inc("sdp.bad_connection_address")
                continue
            if ip in (b"\0\0\0\0", bytes(16)) or m.direction == "inactive":
                if reneg:
                    call.flags.add("hold")
                continue
            if m.direction == "sendonly" and reneg:
                call.flags.add("hold")
            payloads = PayloadMap.from_media(m, offered_line(offer_media, i, m))
            key = (ip, m.port)
            known = self.media.get(key)
            if known is not None and known.call is call and known.side == side:
                known.payloads = known.payloads.merged_with(payloads)
                continue
            if reneg and had_media:
                call.flags.add("media_changed")  # the side moved its media (or added a stream)
            if len(call.media_targets) >= MAX_MEDIA_TARGETS:
                self.counters.inc("sdp.too_many_endpoints")
                continue
            rkey = (ip, m.rtcp_port or m.port + 1)
            for k, t in ((key, MediaTarget(call, side, payloads)),
                         (rkey, MediaTarget(call, side, payloads, rtcp=True))):  # fmt: skip
                prev = self.media.get(k)
                if prev is not None and prev.call is not call and prev.call.ended:
                    # a phone re-uses its RTP port for its next call, which may start while
                    # the previous one lingers: its flows on that endpoint go to the new call
                    self.on_endpoint_taken(prev.call, k)
                self.media[k] = t
                call.media_targets.append((k, t))
            self.generation += 1

    def _set_codecs(
        self,
        call: Call,
        sdp: SessionDescription,
        offer_media: list[MediaDescription] | None,
        reneg: bool,
    ) -> None:
        new = [name for name in agreed_codecs(sdp, offer_media) if name not in call.codecs]
        if new and reneg and call.codecs:
            call.flags.add("media_changed")  # a codec not agreed before
        room = MAX_CODECS - len(call.codecs)
        if len(new) > room:
            self.counters.inc("sdp.too_many_codecs")
            new = new[: max(room, 0)]
        call.codecs += new
