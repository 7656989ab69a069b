"""RTP payload types, clock rates and E-model codec impairment values.

Sources: RFC 3551 tables 4 and 5 (static payload types), the IANA "RTP Payload Format media
types" registry (clock rates of dynamic encodings), ITU-T G.113 Appendix I (Ie, Bpl).
See docs/QUALITY.md for the reasoning behind every approximation.
"""

PT_CN = 13
"""Comfort noise (RFC 3389)."""
PT_CN_OLD = 19
"""Reserved in RFC 3551; used for comfort noise by older equipment (Wireshark treats it as CN)."""

STATIC_PT: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000),
    1: ("1016", 8000),  # reserved by RFC 3551, formerly FS-1016 CELP
    2: ("G721", 8000),  # reserved by RFC 3551, formerly G.721 (= G.726-32)
    3: ("GSM", 8000),
    4: ("G723", 8000),
    5: ("DVI4", 8000),
    6: ("DVI4", 16000),
    7: ("LPC", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),  # RFC 3551 section 4.5.2: 8000 Hz RTP clock although sampled at 16 kHz
    10: ("L16", 44100),
    11: ("L16", 44100),
    12: ("QCELP", 8000),
    13: ("CN", 8000),
    14: ("MPA", 90000),
    15: ("G728", 8000),
    16: ("DVI4", 11025),
    17: ("DVI4", 22050),
    18: ("G729", 8000),
    19: ("CN", 8000),
    25: ("CelB", 90000),
    26: ("JPEG", 90000),
    28: ("nv", 90000),
    31: ("H261", 90000),
    32: ("MPV", 90000),
    33: ("MP2T", 90000),
    34: ("H263", 90000),
}
"""RFC 3551 static payload types -> (encoding name, RTP clock rate in Hz)."""

_DYNAMIC_CLOCK: dict[str, int] = {
    "AMR": 8000,
    "AMR-WB": 16000,
    "EVRC": 8000,
    "EVRCB": 8000,
    "EVRCWB": 16000,
    "EVS": 16000,
    "G7221": 16000,
    "G726-16": 8000,
    "G726-24": 8000,
    "G726-32": 8000,
    "G726-40": 8000,
    "G729D": 8000,
    "G729E": 8000,
    "GSM-EFR": 8000,
    "ILBC": 8000,
    "OPUS": 48000,
    "SPEEX": 8000,
    "TELEPHONE-EVENT": 8000,
    "H264": 90000,
    "H265": 90000,
    "VP8": 90000,
    "VP9": 90000,
    "T140": 1000,
}
"""Default clock rates of dynamic encodings, used only when the rtpmap gives none."""

_STATIC_BY_NAME: dict[str, int] = {name.upper(): rate for name, rate in STATIC_PT.values()}

CODEC_ALIASES: dict[str, str] = {
    # RFC 3551 section 4.5.4: AAL2-G726-xx is G.726 with the ITU-T I.366.2 bit packing: the
    # same codec, the same impairment
    "AAL2-G726-16": "G726-16",
    "AAL2-G726-24": "G726-24",
    "AAL2-G726-32": "G726-32",
    "AAL2-G726-40": "G726-40",
    # PT 2 was G.721 (RFC 1890), i.e. G.726 at 32 kbit/s
    "G721": "G726-32",
}
"""Encoding names that are another name (or another packing) of a codec of the tables below."""

NON_AUDIO: frozenset[str] = frozenset(
    {
        # video (RFC 3551 table 5, IANA video/ media subtypes)
        "CELB", "JPEG", "NV", "H261", "MPV", "MP2T", "H263", "H263-1998", "H263-2000", "H264",
        "H264-SVC", "H265", "VP8", "VP9", "AV1", "MP4V-ES", "BMPEG", "BT656", "DV", "RAW",
        "POINTER", "JPEG2000", "THEORA",
        # text and data
        "T140", "T38", "TELEPHONE-EVENT",
    }
)  # fmt: skip
"""Encodings that are not a voice signal: their streams get no MOS."""


def _norm(encoding: str) -> str:
    """``"pcmu/8000"`` -> ``"PCMU"``."""
    return encoding.split("/", 1)[0].strip().upper()


def canonical_encoding(encoding: str) -> str:
    """The name callsift reports: upper case (media subtype names are case-insensitive,
    RFC 4855 section 3), so ``pcma`` and ``PCMA`` are one codec."""
    return _norm(encoding)


def is_audio_encoding(encoding: str) -> bool:
    """False for video, text, fax and telephone-event encodings."""
    return _norm(encoding) not in NON_AUDIO


def clock_rate_for(encoding: str, rtpmap_rate: int | None) -> int:
    """RTP clock rate (Hz) of ``encoding``; 0 when unknown.

    The rtpmap rate wins, except for G.722 whose RTP clock is 8000 Hz whatever the SDP says
    (RFC 3551 section 4.5.2, a historical erratum kept for compatibility).
    """
    name = _norm(encoding)
    name = CODEC_ALIASES.get(name, name)
    if name == "G722":
        return 8000
    if rtpmap_rate is not None and rtpmap_rate > 0:
        return rtpmap_rate
    return _STATIC_BY_NAME.get(name) or _DYNAMIC_CLOCK.get(name, 0)


def is_telephone_event(encoding: str) -> bool:
    """True for RFC 4733 named telephone events (DTMF and tones)."""
    return _norm(encoding) == "TELEPHONE-EVENT"


G711_PLC = (0.0, 25.1)
"""G.711 with packet loss concealment (G.711 Appendix I): G.113 Appendix I Table I.3."""
G711_NO_PLC = (0.0, 4.3)
"""G.711 without packet loss concealment: G.113 Appendix I Table I.3."""

CODEC_IMPAIRMENT: dict[str, tuple[float, float]] = {
    # ITU-T G.113 Appendix I (Tables I.1 and I.3)
    "PCMU": G711_PLC,
    "PCMA": G711_PLC,
    "G711": G711_PLC,
    "G711-NOPLC": G711_NO_PLC,
    "G729": (11.0, 19.0),  # G.729A + VAD values (Table I.3); G.729 alone has Ie 10
    "G729A": (11.0, 19.0),
    "G723": (15.0, 16.1),  # G.723.1 6.3 kbit/s + VAD
    "GSM-EFR": (5.0, 10.0),
    "G726-40": (2.0, 4.3),  # Ie from Table I.1; no Bpl in G.113: no PLC assumed (as G.711)
    "G726-32": (7.0, 4.3),
    "G726-24": (25.0, 4.3),
    "G726-16": (50.0, 4.3),
    "G728": (7.0, 4.3),
    "GSM": (20.0, 10.0),  # GSM-FR: Ie 20 (Table I.1); Bpl approximated by the GSM-EFR value
    # Approximations (no value in G.113): see docs/QUALITY.md
    "AMR": (5.0, 10.0),  # AMR-NB 12.2 kbit/s is GSM-EFR
    "ILBC": (11.0, 32.0),
    "G722": (0.0, 25.1),  # wideband codec rated on the narrowband scale: as G.711 with PLC
    "AMR-WB": (0.0, 25.1),
    "OPUS": (0.0, 25.1),
    "SPEEX": (11.0, 19.0),
}
"""Encoding (upper case) -> (Ie equipment impairment, Bpl packet-loss robustness). An encoding
that is not here (after :data:`CODEC_ALIASES`) has no basis for a MOS: LPC, DVI4, L16, QCELP,
MPA, G.722.1, EVRC, EVS, G.729 D/E, unknown names (docs/QUALITY.md)."""

CODEC_LOOKAHEAD_MS: dict[str, float] = {
    "G729": 5.0,
    "G729A": 5.0,
    "G723": 7.5,
    "AMR": 5.0,
    "AMR-WB": 5.0,
    "GSM-EFR": 5.0,
    "ILBC": 5.0,
    "OPUS": 6.5,
    "G722": 1.5,
    "SPEEX": 10.0,
}
"""Algorithmic look-ahead of the encoder (ms), 0 when absent."""

DEFAULT_PTIME_MS: dict[str, float] = {"G723": 30.0}
"""Packetisation interval assumed when the SDP has no ``a=ptime`` (default 20 ms)."""


def _codec(encoding: str) -> str:
    name = _norm(encoding)
    return CODEC_ALIASES.get(name, name)


def impairment_for(encoding: str) -> tuple[float, float] | None:
    """(Ie, Bpl) for ``encoding`` (aliases resolved); None when the E-model has no basis for it
    (then the stream has no MOS rather than an invented one)."""
    return CODEC_IMPAIRMENT.get(_codec(encoding))


def lookahead_ms(encoding: str) -> float:
    return CODEC_LOOKAHEAD_MS.get(_codec(encoding), 0.0)


def default_ptime_ms(encoding: str) -> float:
    return DEFAULT_PTIME_MS.get(_codec(encoding), 20.0)
