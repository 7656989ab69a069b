"""Live capture on real interfaces (the tests run as root): ``lo``, ``any`` and a veth pair,
each test inside a network namespace of its own (its ``lo`` and ``any`` carry only what the
test sends, and what it sends reaches no one else)."""

import asyncio
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any

import pcap
import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.errors import CaptureError
from sniffer.capture import livehandle
from sniffer.capture.bpf import DEFAULT_BPF
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.capture.livehandle import U32, available_interfaces, u32_delta
from tests.live.counters import backlog_drops
from tests.live.netns import Netns

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "data" / "golden"
WAIT_S = 10.0
"""Upper bound of every wait; never a timing assertion."""
DLT_EN10MB = 1
DLT_LINUX_SLL = 113

Got = dict[str, list[tuple[float, bytes]]]


@pytest.fixture(autouse=True)
def own_network(netns: Callable[[], Netns]) -> Iterator[Netns]:
    """The test thread (and the capture threads and processes it starts) in a new namespace."""
    ns = netns()
    with ns.entered():
        yield ns


@pytest.fixture
def udp_port() -> Iterator[int]:
    """A port on 127.0.0.1 with a socket bound to it (no ICMP unreachable for our sends)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        yield rx.getsockname()[1]


def send_udp(port: int, count: int, start: int = 0) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for i in range(start, start + count):
            tx.sendto(b"callsift" + struct.pack(">I", i), ("127.0.0.1", port))


def seqs(packets: list[tuple[float, bytes]]) -> list[int]:
    return [struct.unpack(">I", frame[-4:])[0] for _, frame in packets]


async def collect(cap: LiveCapture, want: int) -> Got:
    """Batches until every interface has ``want`` packets (bounded wait)."""
    got: Got = defaultdict(list)
    async with asyncio.timeout(WAIT_S), aclosing(cap.batches()) as it:
        async for iface, linktype, batch in it:
            assert linktype == cap.linktypes[iface]
            got[iface].extend(batch)
            if all(len(got[i]) >= want for i in cap.linktypes):
                break
    return got


async def wait_until(cond: Any) -> None:
    async with asyncio.timeout(WAIT_S):
        while not cond():
            await asyncio.sleep(0.01)


def open_error(options: LiveOptions) -> str:
    cap = LiveCapture(options)
    with pytest.raises(CaptureError) as info:
        cap.open()
    return str(info.value)


# -- open errors ------------------------------------------------------------------------------


def test_nonexistent_interface_names_the_available_ones() -> None:
    available = available_interfaces()
    assert "lo" in available and available[-1] == "any"
    assert not any(name.startswith("dbus") for name in available)
    assert open_error(LiveOptions(["nosuch0"])) == (
        f"interface 'nosuch0' does not exist (available: {', '.join(available)})"
    )
    assert open_error(LiveOptions(["lo", "nosuch0"])).startswith("interface 'nosuch0' does not")


def test_bad_bpf_names_the_filter_and_libpcap_message() -> None:
    msg = open_error(LiveOptions(["lo"], bpf="udp port abc"))
    assert msg == "bad BPF filter 'udp port abc': unknown port 'abc'"
    assert open_error(LiveOptions(["lo"], bpf="udp and")).startswith("bad BPF filter 'udp and': ")


def test_default_bpf_on_a_link_type_without_ip_is_named_not_printed() -> None:
    assert open_error(LiveOptions(["nflog"])) == (
        "the default BPF filter does not work on 'nflog' (link type 239):"
        " NFLOG link-layer type filtering not implemented; give a filter for it"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LiveOptions([]), "no capture interface given"),
        (LiveOptions(["lo", "lo"]), "interface 'lo' is listed twice"),
        (LiveOptions(["lo"], batch_max=0), "batch_max must be at least 1, got 0"),
        (LiveOptions(["lo"], queue_batches=0), "queue_batches must be at least 1, got 0"),
        (LiveOptions(["lo"], buffer_bytes=-1), "buffer_bytes must not be negative, got -1"),
        (LiveOptions([""]), "empty interface name"),
    ],
)
def test_bad_options(options: LiveOptions, message: str) -> None:
    assert open_error(options) == message


def test_without_cap_net_raw_the_message_says_so() -> None:
    code = (
        "from sniffer.capture.live import LiveCapture, LiveOptions\n"
        "from db.errors import CaptureError\n"
        "try:\n"
        "    LiveCapture(LiveOptions(['lo'])).open()\n"
        "except CaptureError as exc:\n"
        "    print(exc)\n"
    )
    drop = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw"]
    out = subprocess.run(
        [*drop, sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == "capture on 'lo' needs root or CAP_NET_RAW", out.stderr


def test_default_bpf_compiles_live_and_link_types_are_known() -> None:
    cap = LiveCapture(LiveOptions(["lo", "any"]))
    cap.open()
    cap.open()  # idempotent
    try:
        assert cap.linktypes == {"lo": DLT_EN10MB, "any": DLT_LINUX_SLL}
        assert cap.options.bpf == DEFAULT_BPF
    finally:
        cap.close()
    assert not cap.running


async def test_batches_needs_a_running_capture() -> None:
    cap = LiveCapture(LiveOptions(["lo"]))
    with pytest.raises(CaptureError, match="not running"):
        await anext(cap.batches())
    cap.stop()
    with pytest.raises(CaptureError, match="was stopped"):
        async with cap:
            pass
    cap.close()


# -- capturing --------------------------------------------------------------------------------


async def test_every_sent_packet_arrives_in_order_with_capture_timestamps(udp_port: int) -> None:
    n = 300
    cap = LiveCapture(LiveOptions(["lo"], bpf=f"udp port {udp_port}", batch_max=64))
    async with cap:
        t0 = time.time()
        send_udp(udp_port, n)
        got = await collect(cap, n)
        t1 = time.time()
    packets = got["lo"]
    assert seqs(packets) == list(range(n))
    stamps = [ts for ts, _ in packets]
    assert stamps == sorted(stamps)
    assert t0 - 1.0 <= stamps[0] and stamps[-1] <= t1 + 1.0  # pcap time, not a clock reading
    s = cap.stats()
    assert s.received == n == s.interfaces["lo"].received
    assert s.bytes == sum(len(frame) for _, frame in packets)
    assert s.queue_dropped_packets == 0 and s.kernel_dropped == 0
    assert not cap.running


async def test_batches_respect_batch_max(udp_port: int) -> None:
    cap = LiveCapture(LiveOptions(["lo"], bpf=f"udp port {udp_port}", batch_max=3))
    sizes: list[int] = []
    async with cap:
        send_udp(udp_port, 50)
        async with asyncio.timeout(WAIT_S), aclosing(cap.batches()) as it:
            async for _, _, batch in it:
                sizes.append(len(batch))
                if sum(sizes) >= 50:
                    break
    assert sum(sizes) == 50 and max(sizes) <= 3
    assert cap.stats().batches == len(sizes)


async def test_two_interfaces_each_in_order(udp_port: int) -> None:
    n = 100
    cap = LiveCapture(LiveOptions(["lo", "any"], bpf=f"udp port {udp_port}"))
    async with cap:
        send_udp(udp_port, n)
        got = await collect(cap, n)
    assert seqs(got["lo"]) == seqs(got["any"]) == list(range(n))
    assert got["lo"][0][1][:14] == bytes(12) + b"\x08\x00"  # Ethernet on lo, SLL on any
    assert got["any"][0][1][14:16] == b"\x08\x00"
    s = cap.stats()
    assert set(s.interfaces) == {"lo", "any"}
    assert s.received == 2 * n and s.interfaces["any"].received == n


async def test_stop_ends_the_iterator_from_any_thread(udp_port: int) -> None:
    cap = LiveCapture(LiveOptions(["lo", "any"], bpf=f"udp port {udp_port}"))
    seen: list[int] = []

    async def consume() -> None:
        async for _, _, batch in cap.batches():
            seen.extend(seqs(batch))

    async with cap:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)  # the consumer is waiting on an idle wire
        stopper = threading.Thread(target=cap.stop)
        stopper.start()
        stopper.join()
        cap.stop()  # idempotent
        async with asyncio.timeout(WAIT_S):
            await task
    assert seen == [] and not cap.running
    assert not any(t.name.startswith("capture-") for t in threading.enumerate())


async def test_queued_batches_are_delivered_after_stop(udp_port: int) -> None:
    cap = LiveCapture(LiveOptions(["lo"], bpf=f"udp port {udp_port}"))
    async with cap:
        send_udp(udp_port, 20)
        await wait_until(lambda: cap.stats().received == 20)
        cap.stop()
        got: list[int] = []
        async with asyncio.timeout(WAIT_S):
            async for _, _, batch in cap.batches():
                got.extend(seqs(batch))
    assert got == list(range(20))


async def test_full_queue_drops_and_counts_without_blocking_capture(udp_port: int) -> None:
    n = 200
    opts = LiveOptions(["lo"], bpf=f"udp port {udp_port}", queue_batches=1, batch_max=1)
    cap = LiveCapture(opts)
    async with cap:
        send_udp(udp_port, n)  # nobody reads: the queue fills at once
        await wait_until(lambda: cap.stats().received + cap.stats().kernel_dropped >= n)
        s = cap.stats()
        assert s.queue_dropped_packets > 0 and s.queue_dropped_packets == s.queue_dropped_batches
        assert s.batches == 1
        send_udp(udp_port, 10, start=n)  # the capture thread is still going
        await wait_until(lambda: cap.stats().received + cap.stats().kernel_dropped >= n + 10)
        cap.stop()
        consumed: list[int] = []
        async with asyncio.timeout(WAIT_S):
            async for _, _, batch in cap.batches():
                consumed.extend(seqs(batch))
    s = cap.stats()
    assert len(consumed) == 1 and consumed[0] < n
    assert s.received == len(consumed) + s.queue_dropped_packets
    assert n + 10 == s.received + s.kernel_dropped


@pytest.mark.parametrize(
    ("immediate", "buffer_bytes"),
    [
        pytest.param(True, 32 << 20, id="tpacket_v2-32MiB"),
        pytest.param(False, 1 << 20, id="tpacket_v3-1MiB"),
    ],
)
async def test_kernel_drops_are_counted_once(
    udp_port: int, immediate: bool, buffer_bytes: int
) -> None:
    """A stalled consumer: nothing reads the rings while the packets arrive, so they
    overflow. immediate mode: TPACKET_V2, one 128 KiB slot per packet (snaplen 65535 on lo),
    256 slots in 32 MiB; TPACKET_V3 packs 1 MiB of blocks by real frame size. On ``lo`` and
    ``any`` the kernel also sees each packet's outgoing copy, which must neither take ring
    space nor count as a drop: drops + received = sent (less what the kernel's input backlog
    dropped before any capture could see it)."""
    n = 20_000
    opts = LiveOptions(
        ["lo", "any"], bpf=f"udp port {udp_port}", immediate=immediate, buffer_bytes=buffer_bytes
    )
    cap = LiveCapture(opts)
    cap.open()
    backlog = backlog_drops()
    send_udp(udp_port, n)
    backlog = backlog_drops() - backlog
    async with cap:  # until the rings are read and the drops counted (each second)
        await wait_until(
            lambda: all(
                s.received + s.kernel_dropped >= n - backlog
                for s in cap.stats().interfaces.values()
            )
        )
        cap.stop()
        async with asyncio.timeout(WAIT_S):
            async for _ in cap.batches():
                pass
    final = cap.stats()  # handles closed: the last values read
    for s in final.interfaces.values():
        assert s.if_dropped == 0  # virtual interfaces: no hardware to miss packets
        assert 0 < s.received < n and s.kernel_dropped > 0
        assert n - backlog <= s.received + s.kernel_dropped <= n
    assert final.received == sum(s.received for s in final.interfaces.values())
    assert final.kernel_dropped == sum(s.kernel_dropped for s in final.interfaces.values())


async def test_loopback_outgoing_copies_stay_out_of_the_ring(udp_port: int) -> None:
    """The filter still applies once the outgoing-copy rule is put in front of it, and
    ``any`` keeps the outgoing copies of other interfaces: a packet over a veth pair is seen
    leaving one end and entering the other, a packet over lo once."""
    n = 50
    with veth_pair() as (a, b):
        ip_link("set", a, "up")
        ip_link("set", b, "up")
        subprocess.run(["ip", "addr", "add", "10.77.0.1/24", "dev", a], check=True)
        subprocess.run(["ip", "neigh", "add", "10.77.0.2", "lladdr", "02:00:00:00:00:02",
                        "dev", a], check=True)  # fmt: skip
        cap = LiveCapture(LiveOptions(["any", "lo"], bpf=f"udp port {udp_port}"))
        got: Got = defaultdict(list)
        async with cap:
            send_udp(udp_port, n)  # over lo
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                for i in range(n, 2 * n):  # over the veth pair
                    tx.sendto(b"callsift" + struct.pack(">I", i), ("10.77.0.2", udp_port))
                    tx.sendto(b"filtered" + struct.pack(">I", i), ("10.77.0.2", udp_port + 1))
            async with asyncio.timeout(WAIT_S), aclosing(cap.batches()) as it:
                async for iface, _, batch in it:
                    got[iface].extend(batch)
                    if len(got["lo"]) >= n and len(got["any"]) >= 3 * n:
                        break
            s = cap.stats()
    assert seqs(got["lo"]) == list(range(n))
    assert all(frame[-12:-4] == b"callsift" for _, frame in got["any"])
    by_seq: dict[int, list[int]] = defaultdict(list)
    for _, frame in got["any"]:  # SLL: the packet type comes first
        by_seq[struct.unpack(">I", frame[-4:])[0]].append(struct.unpack(">H", frame[:2])[0])
    assert all(by_seq[i] == [0] for i in range(n))  # lo: the incoming copy only
    outgoing, otherhost = 4, 3
    assert all(sorted(by_seq[i]) == [otherhost, outgoing] for i in range(n, 2 * n))
    assert len(by_seq) == 2 * n
    assert s.kernel_dropped == 0 and s.received == len(got["lo"]) + len(got["any"]) == 4 * n


@given(st.integers(0, U32 - 1), st.integers(0, U32 - 1))
def test_u32_counters_survive_wrap_around(old: int, increase: int) -> None:
    assert u32_delta((old + increase) % U32, old) == increase


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


@contextmanager
def veth_pair() -> Iterator[tuple[str, str]]:
    """A veth pair in the test's namespace (created from its thread, so there)."""
    a, b = "csveth0", "csveth1"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    try:
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True, check=False)


def ip_link(*args: str) -> None:
    subprocess.run(["ip", "link", *args], check=True)


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
