"""Payload maps are shared between calls (sniffer/calls/media.py ``interned``)."""

from sniffer.calls import media
from sniffer.calls.media import PayloadMap, interned
from tests.sniffer.calls.test_negotiation import OFFER, sdp


def test_equal_maps_are_one_object_and_unequal_ones_are_not() -> None:
    again = sdp(
        "m=audio 6000 RTP/AVP 8 0 96 101",  # other port, same codecs: the same map
        "a=rtpmap:8 pcma/8000",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:101 telephone-event/8000",
    )
    first = PayloadMap.from_media(OFFER.media[0])
    assert PayloadMap.from_media(again.media[0]) is first
    assert PayloadMap.from_media(OFFER.media[1]) is not first  # the video line
    merged = first.merged_with(PayloadMap.from_media(OFFER.media[1]))
    assert merged == PayloadMap(
        {**first.encodings, 97: "H264"}, {**first.clocks, 97: 90000}, first.events, None, "audio"
    )
    assert first.merged_with(PayloadMap.from_media(OFFER.media[1])) is merged
    with_event = first.with_event(102)
    assert with_event is first.with_event(102) and with_event is not first
    assert 102 not in first.events and first.encodings.get(102) is None  # never changed in place


def test_the_table_is_bounded() -> None:
    for i in range(media.INTERNED_MAX + 10):
        interned(PayloadMap({96: f"X{i}"}, {96: 8000}))
    assert 0 < len(media._interned) <= media.INTERNED_MAX
