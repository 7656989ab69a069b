"""SDP offer/answer: the codecs an answer agrees, read with its offer."""

from sniffer.calls.media import PayloadMap
from sniffer.calls.negotiation import agreed_codecs, offered_line
from sniffer.sip.sdp import SessionDescription


def sdp(*lines: str) -> SessionDescription:
    head = ["v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0"]
    return SessionDescription.parse(("\r\n".join([*head, *lines]) + "\r\n").encode())


OFFER = sdp(
    "m=audio 4000 RTP/AVP 8 0 96 101",
    "a=rtpmap:8 pcma/8000",
    "a=rtpmap:96 opus/48000/2",
    "a=rtpmap:101 telephone-event/8000",
    "m=video 4002 RTP/AVP 97",
    "a=rtpmap:97 H264/90000",
)


def test_answer_read_with_the_offer() -> None:
    answer = sdp(
        "m=audio 5000 RTP/AVP 96 8 9 101",  # 96/101 without rtpmap; 9 (G722) never offered
        "a=rtpmap:9 G722/8000",
        "m=video 5002 RTP/AVP 97",
    )
    assert agreed_codecs(answer, OFFER.media) == ["OPUS", "PCMA", "H264"]
    pm = PayloadMap.from_media(answer.media[0], offered_line(OFFER.media, 0, answer.media[0]))
    assert pm.events == frozenset({101})
    assert (pm.encoding(96), pm.clocks[96], pm.encoding(101)) == ("OPUS", 48000, "TELEPHONE-EVENT")
    assert not pm.is_audio(101) and pm.is_audio(96)
    video = PayloadMap.from_media(answer.media[1], OFFER.media[1])
    assert (video.media, video.encoding(97), video.is_audio(97)) == ("video", "H264", False)


def test_without_the_offer_every_listed_codec_counts() -> None:
    answer = sdp("m=audio 5000 RTP/AVP 0 8 13", "m=audio 0 RTP/AVP 0")
    assert agreed_codecs(answer, None) == ["PCMU", "PCMA", "CN"]


def test_rejected_lines_and_t38() -> None:
    answer = sdp("m=audio 0 RTP/AVP 8", "m=image 5004 udptl t38")
    assert agreed_codecs(answer, OFFER.media) == ["T38"]
    assert offered_line(OFFER.media, 1, answer.media[1]) is None  # video offered, image answered
    assert offered_line(OFFER.media, 5, answer.media[0]) is None
