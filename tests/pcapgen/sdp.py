"""SDP (RFC 4566) offer/answer bodies for the SIP builders."""

from collections.abc import Sequence
from typing import Final

Codec = tuple[int, str, int]
"""``(payload type, encoding name, clock rate)``, e.g. ``(0, "PCMU", 8000)``."""

DEFAULT_CODECS: Final[tuple[Codec, ...]] = ((0, "PCMU", 8000), (101, "telephone-event", 8000))


def sdp(
    ip: str,
    port: int,
    codecs: Sequence[Codec] = DEFAULT_CODECS,
    *,
    session_id: int = 1001,
    version: int = 1,
    direction: str | None = "sendrecv",
    ptime: int | None = 20,
    rtcp_port: int | None = None,
    lf_only: bool = False,
) -> bytes:
    """One-audio-stream SDP body. ``ip`` may be IPv4 or IPv6 (``IN IP6``); ``direction`` is
    ``sendrecv``/``sendonly``/``recvonly``/``inactive`` or None for no attribute."""
    fam = "IP6" if ":" in ip else "IP4"
    lines = [
        "v=0",
        f"o=- {session_id} {version} IN {fam} {ip}",
        "s=callsift-pcapgen",
        f"c=IN {fam} {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(c[0]) for c in codecs)}",
    ]
    for pt, name, clock in codecs:
        lines.append(f"a=rtpmap:{pt} {name}/{clock}")
        if name.lower() == "telephone-event":
            lines.append(f"a=fmtp:{pt} 0-16")
    if ptime is not None:
        lines.append(f"a=ptime:{ptime}")
    if rtcp_port is not None:
        lines.append(f"a=rtcp:{rtcp_port}")
    if direction is not None:
        lines.append(f"a={direction}")
    eol = "\n" if lf_only else "\r\n"
    return (eol.join(lines) + eol).encode()
