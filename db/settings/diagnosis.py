"""The ``diagnosis`` section: every threshold of the call diagnosis and of leg linking
(docs/DIAGNOSIS.md gives each rule's exact definition)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode

from db.settings.base import Section, setting, split_list

LEG_HEADERS = ("X-CID", "X-Call-ID", "X-Orig-Call-ID")
SILENCE_SAMPLE_EVERY = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class DiagnosisSettings(Section):
    """Why a call was bad (``problems`` on every CDR) and which legs belong together."""

    enabled: bool = setting(
        True, env="CALLSIFT_DIAG_ENABLED",
        doc="Diagnose every call (`problems`) and link its legs (`leg_group`).",
    )  # fmt: skip
    one_way_gap_s: float = setting(
        5.0, env="CALLSIFT_DIAG_ONE_WAY_GAP_S", gt=0,
        doc="`one_way_audio`: one direction silent this long while the other flows.",
    )  # fmt: skip
    media_timeout_s: float = setting(
        5.0, env="CALLSIFT_DIAG_MEDIA_TIMEOUT_S", gt=0,
        doc="`media_timeout`: no RTP either way this long while the call went on.",
    )  # fmt: skip
    late_media_ms: float = setting(
        1000.0, env="CALLSIFT_DIAG_LATE_MEDIA_MS", gt=0,
        doc="`late_media`: a direction's first RTP this long after the answer.",
    )  # fmt: skip
    rtp_after_bye_s: float = setting(
        0.5, env="CALLSIFT_DIAG_RTP_AFTER_BYE_S", ge=0,
        doc="`rtp_after_bye`: RTP still arriving this long after the BYE.",
    )  # fmt: skip
    silence_dbov: float = setting(
        -55.0, env="CALLSIFT_DIAG_SILENCE_DBOV", ge=-90, le=-20,
        doc="`silent_audio`: a G.711 sample below this level (dBov) is quiet; a sampled packet "
        "with fewer than 1/8 of its samples above it is silent.",
    )  # fmt: skip
    silent_share_pct: float = setting(
        90.0, env="CALLSIFT_DIAG_SILENT_SHARE_PCT", gt=0, le=100,
        doc="`silent_audio`: share of a direction's sampled packets that must be silent.",
    )  # fmt: skip
    silence_sample_every: int = setting(
        32, env="CALLSIFT_DIAG_SILENCE_SAMPLE_EVERY",
        doc="Level sampling: one G.711 packet in this many (by sequence number; a power of two "
        "from 1 to 1024).",
    )  # fmt: skip
    silence_min_samples: int = setting(
        10, env="CALLSIFT_DIAG_SILENCE_MIN_SAMPLES", ge=1,
        doc="`silent_audio`: sampled packets a direction needs before it is judged.",
    )  # fmt: skip
    mos_min: float = setting(
        3.5, env="CALLSIFT_DIAG_MOS_MIN", ge=1, le=5,
        doc="`poor_quality`: a stream's MOS below this.",
    )  # fmt: skip
    loss_max_pct: float = setting(
        3.0, env="CALLSIFT_DIAG_LOSS_MAX_PCT", ge=0, le=100,
        doc="`poor_quality`: a stream's loss above this %.",
    )  # fmt: skip
    quality_min_packets: int = setting(
        50, env="CALLSIFT_DIAG_QUALITY_MIN_PACKETS", ge=1,
        doc="`poor_quality`: streams with fewer packets are not judged.",
    )  # fmt: skip
    pdd_max_ms: float = setting(
        4000.0, env="CALLSIFT_DIAG_PDD_MAX_MS", gt=0,
        doc="`high_pdd`: post-dial delay above this.",
    )  # fmt: skip
    retransmissions_max: int = setting(
        3, env="CALLSIFT_DIAG_RETRANSMISSIONS_MAX", ge=0,
        doc="`sip_retransmissions`: more SIP retransmissions than this in one call.",
    )  # fmt: skip
    ack_wait_s: float = setting(
        2.0, env="CALLSIFT_DIAG_ACK_WAIT_S", gt=0,
        doc="`no_ack`: the call was seen this long after its 2xx without the ACK.",
    )  # fmt: skip
    leg_headers: Annotated[list[str], NoDecode] = setting(
        env="CALLSIFT_DIAG_LEG_HEADERS", default_factory=lambda: list(LEG_HEADERS),
        doc="Headers whose value links the legs of one call (`x-cid`; comma-separated in the "
        "environment; empty to disable).",
    )  # fmt: skip
    leg_window_s: float = setting(
        60.0, env="CALLSIFT_DIAG_LEG_WINDOW_S", gt=0,
        doc="Legs link only to legs whose INVITE (or media) is at most this much older.",
    )  # fmt: skip
    same_media_window_s: float = setting(
        2.0, env="CALLSIFT_DIAG_SAME_MEDIA_WINDOW_S", gt=0,
        doc="`same-media`: the same SSRC on two legs, starting and ending within this.",
    )  # fmt: skip

    @field_validator("leg_headers", mode="before")
    @classmethod
    def _headers(cls, v: Any) -> Any:
        v = split_list(v)
        if isinstance(v, list | tuple):
            for name in v:
                text = str(name)
                if not text or any(ch in text for ch in " \t:\r\n"):
                    raise ValueError(f"not a header name: {name!r}")
        return v

    @field_validator("silence_sample_every")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v not in SILENCE_SAMPLE_EVERY:
            raise ValueError(f"must be a power of two from 1 to 1024, got {v}")
        return v
