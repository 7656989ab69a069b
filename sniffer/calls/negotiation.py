"""SDP offer/answer (RFC 3264): which media line of the offer an answer line answers, and the
codecs an answer agrees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sniffer.calls.media import PayloadMap

if TYPE_CHECKING:
    from sniffer.sip.sdp import MediaDescription, SessionDescription


def offered_line(
    offer_media: list[MediaDescription] | None, i: int, m: MediaDescription
) -> MediaDescription | None:
    """The offer's media line that answer line ``i`` answers (RFC 3264 section 6: the same
    position), when it is of the same media type."""
    if offer_media is None or i >= len(offer_media):
        return None
    om = offer_media[i]
    return om if om.media == m.media else None


def agreed_codecs(sdp: SessionDescription, offer_media: list[MediaDescription] | None) -> list[str]:
    """The codecs an answer agrees, in order, without repeats: those it lists that its offer
    offered too (by name; every listed one when the offer was not seen), read with the offer's
    mapping where the answer has no rtpmap; telephone-event excluded; names upper-cased;
    ``T38`` (and other formats, upper-cased) for an accepted image/udptl stream."""
    agreed: list[str] = []
    for i, m in enumerate(sdp.media):
        if m.port == 0:
            continue
        if m.media == "image" or m.proto.lower() == "udptl":
            agreed += [f.upper() for f in m.formats]
            continue
        om = offered_line(offer_media, i, m)
        pm = PayloadMap.from_media(m, om)
        offered: set[str] | None = None
        if om is not None:
            opm = PayloadMap.from_media(om)
            offered = {opm.encoding(pt) for pt in om.payload_types}
        for pt in m.payload_types:
            name = pm.encoding(pt)
            if pt not in pm.events and (offered is None or name in offered):
                agreed.append(name)
    return list(dict.fromkeys(agreed))
