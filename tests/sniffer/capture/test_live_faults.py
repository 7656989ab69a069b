"""Live capture when things go wrong or get real: errors in the capture thread, interfaces
going down and away (veth pair), replayed golden captures captured frame for frame; each test
in a network namespace of its own."""

import asyncio
import socket
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pcap
import pytest

from db.errors import CaptureError
from sniffer.capture import livehandle
from sniffer.capture.bpf import DEFAULT_BPF
from sniffer.capture.live import LiveCapture, LiveOptions
from tests.sniffer.capture.live_kit import (
    DLT_EN10MB,
    GOLDEN,
    WAIT_S,
    ip_link,
    open_error,
    veth_pair,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_network")]


# -- errors in the capture thread -------------------------------------------------------------


class FailingPcap:
    """A real pypcap handle whose reads fail like libpcap does (or raise a bug)."""

    def __init__(self, real: Any, failure: BaseException | None) -> None:
        self.real = real
        self.failure = failure

    def dispatch(self, cnt: int, callback: Any, *args: Any) -> int:
        if self.failure is not None:
            raise self.failure
        return -1

    def geterr(self) -> bytes:
        return b"read error from the driver"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (None, CaptureError("capture on 'lo' failed: read error from the driver")),
        (OSError("device gone"), CaptureError("capture on 'lo' failed: device gone")),
        (ZeroDivisionError("bug"), ZeroDivisionError("bug")),
    ],
)
async def test_capture_thread_errors_reach_the_consumer(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException | None, expected: BaseException
) -> None:
    real_open = livehandle.pcap.pcap
    monkeypatch.setattr(livehandle.pcap, "pcap", lambda **kw: FailingPcap(real_open(**kw), failure))
    cap = LiveCapture(LiveOptions(["lo"], bpf="udp port 9", poll_timeout_ms=10))
    async with cap:
        with pytest.raises(type(expected)) as info:
            async with asyncio.timeout(WAIT_S):
                async for _ in cap.batches():
                    pass
    assert str(info.value) == str(expected)
    assert not cap.running


# -- interfaces going down and away (veth pair) -----------------------------------------------


async def test_interface_down_is_survived_and_its_removal_is_an_error() -> None:
    frame_type = b"\x88\xb5"  # IEEE local experimental EtherType
    with veth_pair() as (a, b):
        assert open_error(LiveOptions([a])) == f"interface '{a}' is down"
        ip_link("set", a, "up")
        ip_link("set", b, "up")
        cap = LiveCapture(LiveOptions([a], bpf="ether proto 0x88b5", poll_timeout_ms=20))
        got: list[bytes] = []

        async def consume() -> None:
            async for _, _, batch in cap.batches():
                got.extend(frame for _, frame in batch)

        async with cap:
            task = asyncio.create_task(consume())
            ip_link("set", a, "down")
            await wait_until(lambda: cap.stats().interface_down == 1)
            ip_link("set", a, "up")
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as tx:
                tx.bind((b, 0))
                frame = b"\xff" * 6 + b"\x02" * 6 + frame_type + b"callsift" * 8

                def resend() -> bool:
                    try:
                        tx.send(frame)
                    except OSError:  # carrier still coming up
                        pass
                    return bool(got)

                await wait_until(resend)
            assert got[0] == frame and not task.done()
            ip_link("del", a)
            with pytest.raises(CaptureError) as info:
                async with asyncio.timeout(WAIT_S):
                    await task
        assert str(info.value) == f"capture on '{a}' failed: the interface disappeared"


# -- replayed captures ------------------------------------------------------------------------


def matched_prefix(want: list[bytes], got: list[bytes]) -> int:
    """How many of ``want`` appear, in order, as a subsequence of ``got`` (lo may also carry
    other traffic, even another replay of the same file)."""
    i = 0
    for frame in got:
        if i < len(want) and frame == want[i]:
            i += 1
    return i


async def replay_and_capture(path: Path) -> tuple[list[bytes], list[bytes]]:
    """Replay a capture file onto lo with tcpreplay while capturing with the default filter;
    returns the file's frames and the captured ones that belong to it."""
    want = [bytes(frame) for _, frame in pcap.pcap(str(path))]
    wanted = set(want)
    cap = LiveCapture(LiveOptions(["lo"]))
    got: list[bytes] = []
    async with cap:
        proc = await asyncio.create_subprocess_exec(
            "tcpreplay",
            "--intf1=lo",
            "--topspeed",
            str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(WAIT_S):
            _, err = await proc.communicate()
        assert proc.returncode == 0, err
        async with asyncio.timeout(WAIT_S), aclosing(cap.batches()) as it:
            async for _, _, batch in it:
                got.extend(frame for _, frame in batch if frame in wanted)
                if matched_prefix(want, got) == len(want):
                    break
    return want, got


async def test_replayed_golden_call_is_captured_frame_for_frame() -> None:
    want, got = await replay_and_capture(GOLDEN / "sip_tcp_call_rtp_rtcp.pcap")
    assert len(want) == 84
    assert matched_prefix(want, got) == len(want)


async def test_replayed_qinq_matches_because_the_kernel_strips_the_outer_tag() -> None:
    path = GOLDEN / "nonvoip_qinq_ipip_udp.pcap"
    want, got = await replay_and_capture(path)
    offline = pcap.bpf(DEFAULT_BPF.encode(), DLT_EN10MB)
    assert not any(offline.filter(frame) for frame in want)  # two in-band tags in the file
    assert matched_prefix(want, got) == len(want)  # libpcap re-inserts the stripped tag
