"""Kernel counters live tests and benchmarks compare a sensor's figures with."""

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def backlog_drops() -> int:
    """Packets the kernel dropped before any capture saw them (per-CPU input backlog full),
    summed over CPUs from /proc/net/softnet_stat. One figure for the whole machine, every
    namespace included: an increase is an upper bound of what a test's own traffic lost."""
    lines = Path("/proc/net/softnet_stat").read_text().splitlines()
    return sum(int(line.split()[1], 16) for line in lines)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def tree_pids(pid: int) -> list[int]:
    """A process and its children (a sensor's workers), sorted."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return sorted(set(pids))


def tree_ticks(pid: int) -> tuple[int, list[int]]:
    """CPU ticks of a process and its children (a sensor's workers): the sum and each one's."""
    each = [cpu_ticks(p) for p in tree_pids(pid)]
    return sum(each), each
