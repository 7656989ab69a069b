"""Keeping the outgoing copies of loopback packets out of the capture socket.

The kernel hands every packet sent on ``lo`` to a packet socket twice: once on the way out
(``PACKET_OUTGOING``) and once on the way in. libpcap keeps only the incoming copy, but it
discards the other one in user space, after the kernel has put it in the ring or, when the
ring is full, counted it as a drop. On ``lo`` (and for loopback traffic on ``any``) that
halved the ring and counted each lost packet twice, so kernel drops plus packets captured
came to twice what was sent.

:func:`reject_loopback_outgoing` puts that discard into the kernel, in front of the filter
libpcap attached: a few classic-BPF instructions (packet type and interface index are
ancillary loads, ``SKF_AD_*``) prepended to the program read back with ``SO_GET_FILTER``.
libpcap itself is not told: its own user-space copy of the filter (it runs it over the first
ring block after ``setfilter``) stays the plain one, which it can evaluate. What libpcap
hands over does not change; what the kernel queues and counts as dropped does.
"""

import ctypes
import os
import struct

SOL_SOCKET = 1
SO_ATTACH_FILTER = 26
SO_GET_FILTER = SO_ATTACH_FILTER
"""Linux reads a classic filter back through the option that attached it."""
BPF_MAXINSNS = 4096

# classic BPF opcodes (linux/filter.h)
BPF_LD_W_ABS = 0x20
BPF_JMP_JEQ_K = 0x15
BPF_RET_K = 0x06
ACCEPT_ALL = 0x40000
"""``ret #262144``: what libpcap returns to accept a whole packet."""

# ancillary data loads (linux/filter.h) and packet types (linux/if_packet.h)
SKF_AD_OFF = -0x1000
SKF_AD_PKTTYPE = 4
SKF_AD_IFINDEX = 8
PACKET_OUTGOING = 4

_INSN = struct.Struct("=HBBI")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def _os_error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def attached_filter(fd: int) -> bytes:
    """The classic BPF program attached to socket ``fd``, as ``struct sock_filter`` bytes
    (empty when none is)."""
    count = ctypes.c_uint(0)
    if _libc.getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, None, ctypes.byref(count)) != 0:
        raise _os_error("reading the capture filter back")
    if count.value == 0:
        return b""
    buf = ctypes.create_string_buffer(count.value * _INSN.size)
    n = ctypes.c_uint(count.value)  # in instructions, not bytes
    if _libc.getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, buf, ctypes.byref(n)) != 0:
        raise _os_error("reading the capture filter back")
    return buf.raw[: n.value * _INSN.size]


def attach_filter(fd: int, program: bytes) -> None:
    """Attach ``program`` (``struct sock_filter`` bytes) to socket ``fd``."""
    if not program or len(program) % _INSN.size or len(program) // _INSN.size > BPF_MAXINSNS:
        raise ValueError(f"not a classic BPF program of 1 to {BPF_MAXINSNS} instructions")
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // _INSN.size, ctypes.addressof(buf))
    if _libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, ctypes.byref(fprog),
                        ctypes.sizeof(fprog)) != 0:  # fmt: skip
        raise _os_error("attaching the capture filter")


def loopback_outgoing_prefix(lo_ifindex: int) -> bytes:
    """``if pkttype == OUTGOING and ifindex == lo: drop``, falling through to the next
    instruction otherwise (jump offsets are relative, so any program may follow)."""
    ad = (1 << 32) + SKF_AD_OFF
    return b"".join(
        _INSN.pack(*insn)
        for insn in (
            (BPF_LD_W_ABS, 0, 0, ad + SKF_AD_PKTTYPE),
            (BPF_JMP_JEQ_K, 0, 3, PACKET_OUTGOING),  # outgoing: look at the interface
            (BPF_LD_W_ABS, 0, 0, ad + SKF_AD_IFINDEX),
            (BPF_JMP_JEQ_K, 0, 1, lo_ifindex),  # on lo: reject, else the program
            (BPF_RET_K, 0, 0, 0),
        )
    )


def reject_loopback_outgoing(fd: int, lo_ifindex: int) -> None:
    """Make the kernel drop, before the ring, the outgoing copies of packets on interface
    ``lo_ifindex`` that capture socket ``fd`` would get, keeping the filter already attached
    (none: accept the rest)."""
    program = attached_filter(fd) or _INSN.pack(BPF_RET_K, 0, 0, ACCEPT_ALL)
    attach_filter(fd, loopback_outgoing_prefix(lo_ifindex) + program)
