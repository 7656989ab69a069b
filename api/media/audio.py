"""A call's audio as a WAV file: each direction's RTP payloads decoded and laid out by RTP
timestamp (lost packets stay silent), every stream anchored at its first packet's capture
time, so that the two directions line up as they were heard."""

import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.media.g711 import alaw_to_pcm16, ulaw_to_pcm16
from api.media.rtp import RtpPacket, StreamKey, rtp_packets

SAMPLE_WIDTH = 2
RATE = 8000
MAX_SECONDS = 4 * 3600
"""Audio longer than this is cut (a call left open for days does not fill the disk)."""
CHUNK_SAMPLES = 32768
Decoder = Callable[[bytes], bytes]
DECODERS: dict[str, Decoder] = {"PCMU": ulaw_to_pcm16, "PCMA": alaw_to_pcm16}
"""Codec name (as the CDR stores it) -> decoder to 16-bit PCM at 8 kHz."""
CHANNELS = ("caller", "callee")


class AudioError(Exception):
    """No WAV can be made (the message says why)."""


class UnsupportedCodec(AudioError):
    def __init__(self, codec: str) -> None:
        super().__init__(f"cannot decode codec {codec}: audio is available for PCMU and PCMA")
        self.codec = codec


class NoAudio(AudioError):
    pass


@dataclass(frozen=True, slots=True)
class StreamInfo:
    key: StreamKey
    direction: str | None
    codec: str
    payload_type: int


@dataclass(slots=True)
class Wav:
    """A rendered WAV: iterate :meth:`chunks` once; the temporary files go with it."""

    channels: int
    frames: int
    files: list[Path]
    tmpdir: Path

    @property
    def duration_s(self) -> float:
        return self.frames / RATE

    @property
    def size(self) -> int:
        return 44 + self.frames * self.channels * SAMPLE_WIDTH

    def header(self) -> bytes:
        data = self.frames * self.channels * SAMPLE_WIDTH
        return (
            b"RIFF"
            + struct.pack("<I", 36 + data)
            + b"WAVEfmt "
            + struct.pack(
                "<IHHIIHH",
                16,
                1,
                self.channels,
                RATE,
                RATE * self.channels * SAMPLE_WIDTH,
                self.channels * SAMPLE_WIDTH,
                8 * SAMPLE_WIDTH,
            )
            + b"data"
            + struct.pack("<I", data)
        )

    def chunks(self) -> Iterator[bytes]:
        try:
            yield self.header()
            handles = [open(f, "rb") for f in self.files]  # noqa: SIM115 - closed below
            try:
                left = self.frames
                while left > 0:
                    n = min(CHUNK_SAMPLES, left)
                    parts = [_read_exact(h, n * SAMPLE_WIDTH) for h in handles]
                    if len(parts) == 1:
                        yield parts[0]
                    else:
                        out = bytearray(n * SAMPLE_WIDTH * len(parts))
                        step = SAMPLE_WIDTH * len(parts)
                        for c, part in enumerate(parts):
                            for b in range(SAMPLE_WIDTH):
                                out[c * SAMPLE_WIDTH + b :: step] = part[b::SAMPLE_WIDTH]
                        yield bytes(out)
                    left -= n
            finally:
                for h in handles:
                    h.close()
        finally:
            self.discard()

    def discard(self) -> None:
        for f in self.files:
            f.unlink(missing_ok=True)
        try:
            self.tmpdir.rmdir()
        except OSError:
            pass


def _read_exact(h: BinaryIO, n: int) -> bytes:
    data = h.read(n)
    return data + b"\0" * (n - len(data))  # a sparse tail (silence) past the last write


def render_wav(
    pcap: Path, streams: Sequence[StreamInfo], channel: str, tmp_root: Path | None = None
) -> Wav:
    """``channel`` is ``caller``, ``callee`` or ``stereo`` (left: caller, right: callee)."""
    wanted = CHANNELS if channel == "stereo" else (channel,)
    chosen = [s for s in streams if s.direction in wanted]
    if not chosen:
        who = "either party" if channel == "stereo" else f"the {channel}"
        raise NoAudio(f"the call has no RTP stream from {who}")
    for s in chosen:
        if s.codec.upper() not in DECODERS:
            raise UnsupportedCodec(s.codec)
    packets = rtp_packets(pcap, [s.key for s in chosen])
    if not any(p.payload for pk in packets.values() for p in pk):
        raise NoAudio(
            "the pcap holds no RTP payload (recorded in SIP-only or header-only spool mode)"
        )
    firsts = [pk[0].arrival for pk in packets.values() if pk]
    t0 = min(firsts)
    tmpdir = Path(tempfile.mkdtemp(prefix="callsift-wav-", dir=tmp_root))
    files: list[Path] = []
    frames = 0
    try:
        for name in wanted:
            path = tmpdir / f"{name}.pcm"
            files.append(path)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            try:
                end = 0
                for s in chosen:
                    if s.direction == name:
                        end = max(end, _lay_out(fd, packets[s.key], s, t0))
                frames = max(frames, end)
            finally:
                os.close(fd)
    except BaseException:
        Wav(len(wanted), 0, files, tmpdir).discard()
        raise
    return Wav(len(wanted), frames, files, tmpdir)


def _lay_out(fd: int, packets: Sequence[RtpPacket], s: StreamInfo, t0: float) -> int:
    """Write the stream's samples at their places; returns the end (in samples)."""
    decode = DECODERS[s.codec.upper()]
    limit = MAX_SECONDS * RATE
    end = 0
    first = None
    ext = 0
    prev_ts = 0
    for p in packets:
        if p.payload_type != s.payload_type or not p.payload:
            continue  # telephone-event, comfort noise, or a cut payload
        ts = p.timestamp
        if first is None:
            first = round((p.arrival - t0) * RATE)
            ext = 0
        else:
            step = (ts - prev_ts) & 0xFFFFFFFF
            ext += step - (1 << 32) if step >= 1 << 31 else step
        prev_ts = ts
        pos = first + ext
        if pos < 0 or pos >= limit:
            continue
        pcm = decode(p.payload)
        room = (limit - pos) * SAMPLE_WIDTH
        os.pwrite(fd, pcm[:room], pos * SAMPLE_WIDTH)
        end = max(end, pos + len(pcm[:room]) // SAMPLE_WIDTH)
    return end
