"""Read back what :mod:`tests.pcapgen.writer` wrote (pcap us/ns, gzip, simple pcapng), and ask
tshark about it. For tests; the sensor has its own readers."""

import gzip
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import NamedTuple

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"


class Capture(NamedTuple):
    linktype: int
    frames: list[tuple[float, bytes]]


def read_capture(path: str | Path) -> Capture:
    """Frames of a little-endian pcap (us or ns, optionally gzip) or single-interface pcapng;
    ValueError on anything else or a truncated header."""
    raw = Path(path).read_bytes()
    try:
        return _read(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (struct.error, EOFError, OSError, zlib.error) as e:
        raise ValueError(f"bad capture: {e}") from None


def _read(raw: bytes) -> Capture:
    magic = struct.unpack_from("<I", raw)[0]
    if magic == 0x0A0D0D0A:
        return _read_pcapng(raw)
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise ValueError(f"unsupported capture magic {magic:#x}")
    scale = 1e9 if magic == 0xA1B23C4D else 1e6
    linktype = struct.unpack_from("<I", raw, 20)[0]
    pos, frames = 24, []
    while pos + 16 <= len(raw):
        sec, frac, cap, _ = struct.unpack_from("<IIII", raw, pos)
        frames.append((sec + frac / scale, raw[pos + 16 : pos + 16 + cap]))
        pos += 16 + cap
    return Capture(linktype, frames)


def _read_pcapng(raw: bytes) -> Capture:
    pos, linktype, scale = 0, -1, 1e6
    frames = []
    while pos + 12 <= len(raw):
        btype, blen = struct.unpack_from("<II", raw, pos)
        if blen < 12 or blen % 4:
            raise ValueError(f"bad pcapng block length {blen}")
        body = raw[pos + 8 : pos + blen - 4]
        if btype == 1:
            linktype = struct.unpack_from("<H", body)[0]
            opt = 8
            while opt + 4 <= len(body):
                code, olen = struct.unpack_from("<HH", body, opt)
                if code == 9:
                    scale = 10.0 ** body[opt + 4]
                opt += 4 + olen + (-olen % 4)
        elif btype == 6:
            _, hi, lo, cap, _ = struct.unpack_from("<IIIII", body)
            frames.append((((hi << 32) | lo) / scale, body[20 : 20 + cap]))
        pos += blen
    return Capture(linktype, frames)


def tshark(path: str | Path, *args: str) -> str:
    """stdout of ``tshark -r path args...`` (raises CalledProcessError on failure)."""
    res = subprocess.run(
        [TSHARK, "-n", "-r", str(path), *args], capture_output=True, text=True, check=True
    )
    return res.stdout


def tshark_sip_count(path: str | Path, *args: str) -> int:
    """Number of SIP messages tshark decodes (every PDU of a frame counts)."""
    out = tshark(path, *args, "-Y", "sip", "-T", "fields", "-e", "sip.CSeq")
    return sum(len(line.split(",")) for line in out.splitlines() if line.strip())


class TsharkStream(NamedTuple):
    src: str
    sport: int
    dst: str
    dport: int
    ssrc: int
    payload: str
    packets: int
    lost: int
    max_delta_ms: float
    mean_jitter_ms: float
    max_jitter_ms: float


_LOST = re.compile(r"^\((-?[\d.]+)%\)$")


def tshark_rtp_streams(path: str | Path, *args: str) -> list[TsharkStream]:
    """Rows of ``tshark -q -z rtp,streams`` (heuristic RTP on)."""
    out = tshark(path, "-o", "rtp.heuristic_rtp:TRUE", *args, "-q", "-z", "rtp,streams")
    rows = []
    for line in out.splitlines():
        tok = line.split()
        if len(tok) < 17 or not tok[6].startswith("0x"):
            continue
        if tok[-1] == "X":
            tok = tok[:-1]
        nums = tok[-6:]
        pct = -7
        if not _LOST.match(tok[pct]):
            raise ValueError(f"unexpected rtp,streams row: {line}")
        row = TsharkStream(
            tok[2], int(tok[3]), tok[4], int(tok[5]), int(tok[6], 16),
            " ".join(tok[7 : pct - 2]), int(tok[pct - 2]), int(tok[pct - 1]),
            float(nums[2]), float(nums[4]), float(nums[5]),
        )  # fmt: skip
        rows.append(row)
    return rows


def tshark_bad_checksums(path: str | Path, *args: str) -> int:
    """Frames in which tshark flags a bad IPv4, UDP or TCP checksum (verification enabled)."""
    out = tshark(
        path,
        "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        "-o", "tcp.check_checksum:TRUE", *args,
        "-Y", "ip.checksum.status == 0 || udp.checksum.status == 0 || tcp.checksum.status == 0",
        "-T", "fields", "-e", "frame.number",
    )  # fmt: skip
    return len([line for line in out.splitlines() if line.strip()])
