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
from contextlib import aclosing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.errors import CaptureError
from sniffer.capture.bpf import DEFAULT_BPF
from sniffer.capture.live import LiveCapture, LiveOptions
from sniffer.capture.livehandle import U32, available_interfaces, u32_delta
from tests.live.counters import backlog_drops
from tests.sniffer.capture.live_kit import (
    DLT_EN10MB,
    DLT_LINUX_SLL,
    REPO,
    WAIT_S,
    Got,
    collect,
    ip_link,
    open_error,
    send_udp,
    seqs,
    veth_pair,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("own_network")]


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
