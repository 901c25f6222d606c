"""The workloads of bench/run, each one measurement against one target with its CPU cost.

  keepalive  wrk, small JSON replies on kept-alive connections: per-request forwarding cost
  close      wrk with `Connection: close`: one request per connection, connection setup cost
  bulk       wrk fetching a 1 MiB file: bulk throughput
  latency    conn_latency, open loop at a moderate rate: connection latency p50/p99
  idle       hold_conns: many idle connections held; proxy RSS and kernel TCP memory each
"""
import json
import re
import subprocess
import time

from . import sysstat
from .peers import BULK_FILE, Target

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def parse_wrk(out: str) -> dict:
    r = {"errors": 0}
    for line in out.splitlines():
        s = line.split()
        if line.startswith("Requests/sec:"):
            r["rps"] = float(s[1])
        elif re.match(r"\s*\d+ requests in", line):
            r["requests"] = int(s[0])
        elif line.strip().startswith("50%"):
            r["p50_ms"] = _ms(s[1])
        elif line.strip().startswith("99%"):
            r["p99_ms"] = _ms(s[1])
        elif line.strip().startswith("Socket errors:"):
            r["errors"] += sum(int(x) for x in re.findall(r"\d+", line))
        elif line.strip().startswith("Non-2xx"):
            r["errors"] += int(s[-1])
    return r


def measure(target: Target, run) -> dict:
    """Runs `run()` with CPU snapshots around it; adds cpu_* seconds and its wall seconds."""
    pids = target.pids()
    a = sysstat.cpu_sample(pids)
    t0 = time.monotonic()
    r = run()
    wall = time.monotonic() - t0
    use = sysstat.cpu_delta(a, sysstat.cpu_sample(pids))
    r.update(cpu_proxy=use.proxy, cpu_kthreads=use.kthreads, cpu_machine=use.machine, wall_s=wall)
    return r


def wrk(target: Target, workload: str, duration: float, conns: int, threads: int) -> dict:
    url = f"http://127.0.0.1:{target.port}/"
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency"]
    if workload == "close":
        argv += ["-H", "Connection: close"]
    if workload == "bulk":
        url += BULK_FILE

    def run():
        p = subprocess.run(argv + [url], capture_output=True, text=True, timeout=duration + 60)
        r = parse_wrk(p.stdout)
        if p.returncode != 0 or "rps" not in r:
            raise RuntimeError(f"wrk failed against {target.name}: {p.stderr.strip() or p.stdout[-300:]}")
        return r

    return measure(target, run)


def latency(tool: str, target: Target, rate: int, duration: float) -> dict:
    argv = [tool, "--target", f"127.0.0.1:{target.port}", "--rate", str(rate),
            "--duration", str(duration)]

    def run():
        p = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise RuntimeError(f"conn_latency failed against {target.name}: {p.stderr.strip()}")
        r["requests"] = r.get("completed", 0)
        return r

    return measure(target, run)


def idle(tool: str, target: Target, count: int, settle: float = 2.0) -> dict:
    """Opens `count` connections through the target, each proved end to end by one request,
    then measures while they sit idle: the proxy's RSS and the kernel's TCP memory, per
    connection, against a baseline taken just before."""
    pids = target.pids()
    rss0 = sysstat.rss_bytes(pids)
    tcp0 = sysstat.tcp_sockstat()
    mem0 = sysstat.meminfo()
    argv = [tool, "--target", f"127.0.0.1:{target.port}", "--count", str(count), "--hold", "120"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        first = p.stdout.readline()
        try:
            est = json.loads(first)
        except ValueError:
            raise RuntimeError(f"hold_conns failed against {target.name}: {p.stderr.read().strip()}")
        time.sleep(settle)
        rss1 = sysstat.rss_bytes(pids)
        tcp1 = sysstat.tcp_sockstat()
        mem1 = sysstat.meminfo()
        p.stdin.close()  # releases the connections
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    n = max(est.get("established", 0), 1)
    return {
        "requested": count,
        "established": est.get("established", 0),
        "failed": est.get("failed", 0),
        "establish_s": est.get("seconds", float("nan")),
        "establish_p99_ms": est.get("p99_ms", float("nan")),
        "rss_mib": rss1 / 2**20,
        "rss_per_conn_b": (rss1 - rss0) / n,
        "tcp_mem_per_conn_b": (tcp1["mem"] - tcp0["mem"]) / n,
        "sockets_per_conn": (tcp1["inuse"] - tcp0["inuse"]) / n,
        "slab_per_conn_b": (mem1["Slab"] - mem0["Slab"]) / n,
    }
