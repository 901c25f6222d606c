"""What a benchmark reads from /proc: CPU time of processes, of kernel threads and of the
whole machine, resident memory, and the kernel's TCP socket accounting.

CPU is read as before/after snapshots around one measurement. Kernel threads are counted
separately because a path can move work out of the proxy's own process (the sockmap path
queues each redirect's backlog to a kworker): a proxy's honest cost is its process time plus
the kernel-thread time it causes. Softirq time the kernel accounts to no task shows only in the
machine total, which is why that is reported too.
"""
import os
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PF_KTHREAD = 0x00200000  # include/linux/sched.h


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            # comm may hold spaces and parentheses: split after the last ')'.
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pids: list[int]) -> float:
    """utime + stime of each process (all its threads, io-wq workers included), in seconds."""
    ticks = 0
    for pid in pids:
        f = _stat_fields(pid)
        if f:
            ticks += int(f[11]) + int(f[12])  # fields 14 and 15 of proc(5), after pid and comm
    return ticks / CLK_TCK


def kthread_ticks() -> dict[int, int]:
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        f = _stat_fields(int(d))
        if f and int(f[6]) & PF_KTHREAD:
            out[int(d)] = int(f[11]) + int(f[12])
    return out


def kthread_cpu_delta(before: dict[int, int], after: dict[int, int]) -> float:
    """Kernel-thread CPU seconds between two snapshots; a thread born in between counts whole."""
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / CLK_TCK


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (every state but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest is inside user.
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


@dataclass
class CpuSample:
    proxy: float
    kthreads: dict[int, int]
    machine: float


def cpu_sample(pids: list[int]) -> CpuSample:
    return CpuSample(process_cpu(pids), kthread_ticks(), machine_cpu())


@dataclass
class CpuUse:
    proxy: float     # the proxy's own processes; io_uring's io-wq workers are its threads
    kthreads: float  # every kernel thread: kworkers, ksoftirqd
    machine: float   # everything busy: wrk, the backend, the proxy, the kernel


def cpu_delta(a: CpuSample, b: CpuSample) -> CpuUse:
    return CpuUse(b.proxy - a.proxy, kthread_cpu_delta(a.kthreads, b.kthreads), b.machine - a.machine)


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def tcp_sockstat() -> dict[str, int]:
    """/proc/net/sockstat's TCP line: inuse, orphan, tw, alloc, and mem (in bytes)."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()[1:]
                d = {parts[i]: int(parts[i + 1]) for i in range(0, len(parts), 2)}
                d["mem"] *= PAGE
                return d
    return {}


def meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out
