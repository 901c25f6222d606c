"""Turns a run's raw records into its outputs: bench/results/latest.md (machine, versions, the
tables, the verdict on the targets), a long-format CSV of every measurement, and a PNG chart
of the ratios drawn by gnuplot.

Every ratio is taken per round (target / direct, target / HAProxy measured minutes apart) and
then the median over rounds is reported, so the noise of a shared machine cancels as far as
it can; the median of absolute numbers is shown beside it.
"""
import csv
import math
import os
import shutil
import statistics
import subprocess

CEILING_PER_HOUR = 960_000  # 16 Oracle Integration instances x 60K messages/hour
THROUGHPUT = ["keepalive", "close", "bulk"]
TITLES = {
    "keepalive": "keepalive, small JSON (wrk -c50)",
    "close": "one request per connection (Connection: close)",
    "bulk": "1 MiB bodies (wrk -c8)",
}


def median(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


def by(records, **match):
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def ratios(records, workload, target, base):
    """Per-round ratio of target's req/s to base's, for rounds where both ran."""
    out = []
    for r in by(records, workload=workload, target=target):
        b = by(records, workload=workload, target=base, round=r["round"])
        if b and b[0]["rps"] > 0:
            out.append(r["rps"] / b[0]["rps"])
    return out


def cpu_per_100k(r, kind):
    if not r.get("requests"):
        return float("nan")
    cpu = {"proxy": r["cpu_proxy"], "total": r["cpu_proxy"] + r["cpu_kthreads"],
           "machine": r["cpu_machine"]}[kind]
    return cpu / r["requests"] * 1e5


def cost_ratios(records, workload, target, base):
    """Per-round ratio of base's machine CPU per request to target's: the throughput ratio the two
    would show if both kept the machine's CPUs equally busy (what the CPU cost alone allows)."""
    out = []
    for r in by(records, workload=workload, target=target):
        b = by(records, workload=workload, target=base, round=r["round"])
        mine = cpu_per_100k(r, "machine")
        if b and mine > 0:
            out.append(cpu_per_100k(b[0], "machine") / mine)
    return out


def busy_cores(r):
    """Machine CPU seconds over the run's wall seconds: how many CPUs the run kept busy."""
    return r["cpu_machine"] / r["wall_s"] if r.get("wall_s") else float("nan")


def summarise(records, targets):
    """One row per (throughput workload, target) with medians and ratios."""
    rows = []
    for w in THROUGHPUT:
        for t in targets:
            rs = by(records, workload=w, target=t)
            if not rs:
                continue
            rps = median([r["rps"] for r in rs])
            rows.append({
                "workload": w, "target": t, "rounds": len(rs), "rps": rps,
                "per_hour": rps * 3600, "ceiling_x": rps * 3600 / CEILING_PER_HOUR,
                "vs_direct": median(ratios(records, w, t, "direct")),
                "vs_haproxy": median(ratios(records, w, t, "haproxy")),
                "vs_direct_rounds": ratios(records, w, t, "direct"),
                "vs_haproxy_rounds": ratios(records, w, t, "haproxy"),
                "cpu_proxy": median([cpu_per_100k(r, "proxy") for r in rs]),
                "cpu_total": median([cpu_per_100k(r, "total") for r in rs]),
                "cpu_machine": median([cpu_per_100k(r, "machine") for r in rs]),
                "busy_cores": median([busy_cores(r) for r in rs]),
                "cost_vs_haproxy": median(cost_ratios(records, w, t, "haproxy")),
                "p99_ms": median([r.get("p99_ms") for r in rs]),
                "errors": sum(r.get("errors", 0) for r in rs),
            })
    return rows


def verdicts(rows):
    """The issue's targets, checked against this run. (label, wanted, measured, ok)."""
    def get(w, t):
        return next((r for r in rows if r["workload"] == w and r["target"] == t), None)

    out = []

    def check(label, row, key, op, bound):
        if row is None:
            return
        v = row[key]
        ok = (v >= bound) if op == ">=" else (v <= bound)
        out.append((label, f"{op} {bound:g}", v, ok))

    s = "ringlb-splice"
    check("splice keepalive / HAProxy", get("keepalive", s), "vs_haproxy", ">=", 1.05)
    check("splice close / HAProxy", get("close", s), "vs_haproxy", ">=", 1.0)
    check("splice bulk / direct", get("bulk", s), "vs_direct", ">=", 0.9)
    hap = get("keepalive", "haproxy")
    if hap:
        check("splice keepalive CPU-s/100k (proxy+kthreads) vs HAProxy", get("keepalive", s),
              "cpu_total", "<=", round(hap["cpu_total"], 3))
    m = "ringlb-sockmap"
    check("sockmap keepalive / HAProxy", get("keepalive", m), "vs_haproxy", ">=", 1.35)
    check("sockmap keepalive / direct", get("keepalive", m), "vs_direct", ">=", 0.65)
    if hap:
        check("sockmap keepalive CPU-s/100k (proxy+kthreads) vs HAProxy", get("keepalive", m),
              "cpu_total", "<=", round(hap["cpu_total"], 3))
    sp = get("close", s)
    if sp:
        check("sockmap close / splice close (req/s)", get("close", m), "rps", ">=", round(sp["rps"]))
    return out


def fmt(v, spec=".2f"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def write_csv(records, path):
    keys = sorted({k for r in records for k in r} - {"round", "workload", "target"})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round", "workload", "target", "metric", "value"])
        for r in records:
            for k in keys:
                if k in r:
                    w.writerow([r["round"], r["workload"], r["target"], k, r[k]])


def write_chart(rows, targets, path, tmp):
    """Grouped bars: each proxy's median req/s as a share of direct, per workload."""
    if not shutil.which("gnuplot"):
        return "gnuplot not installed (scripts/deps --bench installs gnuplot-nox)"
    proxies = [t for t in targets if t != "direct"]
    dat = os.path.join(tmp, "chart.dat")
    with open(dat, "w") as f:
        f.write("workload " + " ".join(proxies) + "\n")
        for w in THROUGHPUT:
            vals = []
            for t in proxies:
                row = next((r for r in rows if r["workload"] == w and r["target"] == t), None)
                vals.append(fmt(row["vs_direct"], ".3f") if row else "0")
            f.write(w + " " + " ".join(v if v != "–" else "0" for v in vals) + "\n")
    plots = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title '{t}'" for i, t in enumerate(proxies))
    script = f"""
set terminal pngcairo size 900,480 font 'DejaVu Sans,11'
set output '{path}'
set title 'Throughput as a share of direct-to-backend (median of per-round ratios; higher is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:1.1]
set grid ytics
set key top right
set ylabel 'req/s ÷ direct req/s'
plot {plots}, 1 with lines dashtype 2 lc rgb '#777777' notitle
"""
    sp = os.path.join(tmp, "chart.gp")
    with open(sp, "w") as f:
        f.write(script)
    p = subprocess.run(["gnuplot", sp], capture_output=True, text=True)
    return None if p.returncode == 0 else f"gnuplot failed: {p.stderr.strip()[:300]}"


def markdown(meta, records, targets, notes, micro, chart_name):
    rows = summarise(records, targets)
    L = [f"# ringlb benchmark: {meta['date']}", ""]
    L += [f"- **Machine:** {meta['machine']}", f"- **Kernel:** {meta['kernel']}",
          f"- **Versions:** {meta['versions']}", f"- **Run:** `{meta['command']}`: {meta['method']}",
          f"- **Took:** {meta['elapsed']}", ""]
    if notes:
        L += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]

    L += ["## Targets (issues 3 and 4)", "", "| target | wanted | measured | |", "|---|---|---|---|"]
    for label, wanted, v, ok in verdicts(rows):
        L.append(f"| {label} | {wanted} | {fmt(v, '.3f')} | {'met' if ok else '**not met**'} |")
    L += ["", f"![ratios to direct]({chart_name})", ""]

    L += ["## Throughput", "",
          "Medians over rounds. Ratios are per round (same round's direct or HAProxy), then the median. "
          "CPU-s per 100k requests: the proxy's own processes; `+kthreads` adds every kernel thread's "
          "time during the run; `machine` is every busy CPU second (wrk, backend and proxy included). "
          "`busy CPUs` is machine CPU-s over the run's wall seconds (this machine has "
          f"{os.cpu_count()}). `CPU-bound ÷ HAProxy` is HAProxy's machine CPU per request over the "
          "target's: the ratio to HAProxy the target would show if both kept the CPUs equally busy. "
          f"Messages/hour = req/s × 3600; × ceiling = that over the reference cluster's "
          f"{CEILING_PER_HOUR:,}/hour.", ""]
    L += ["| workload | target | req/s | messages/hour | × 960K/h | ÷ direct | ÷ HAProxy | "
          "CPU-s/100k proxy | +kthreads | machine | busy CPUs | CPU-bound ÷ HAProxy | p99 ms | errors |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        L.append(f"| {r['workload']} | {r['target']} | {r['rps']:,.0f} | {r['per_hour'] / 1e6:,.1f}M | "
                 f"{r['ceiling_x']:,.0f}× | {fmt(r['vs_direct'], '.3f')} | {fmt(r['vs_haproxy'], '.3f')} | "
                 f"{fmt(r['cpu_proxy'], '.3f')} | {fmt(r['cpu_total'], '.3f')} | {fmt(r['cpu_machine'], '.3f')} | "
                 f"{fmt(r['busy_cores'])} | {fmt(r['cost_vs_haproxy'], '.3f')} | {fmt(r['p99_ms'], '.2f')} | {r['errors']} |")
    L += ["", "Per round, req/s (÷ direct, ÷ HAProxy):", ""]
    rounds = sorted({r["round"] for r in records if r["workload"] in THROUGHPUT})
    L += ["| workload | target | " + " | ".join(f"round {n}" for n in rounds) + " |",
          "|---|---|" + "---:|" * len(rounds)]
    for w in THROUGHPUT:
        for t in targets:
            cells = []
            for n in rounds:
                rr = by(records, workload=w, target=t, round=n)
                if not rr:
                    cells.append("–")
                    continue
                d = by(records, workload=w, target="direct", round=n)
                h = by(records, workload=w, target="haproxy", round=n)
                rd = rr[0]["rps"] / d[0]["rps"] if d else float("nan")
                rh = rr[0]["rps"] / h[0]["rps"] if h else float("nan")
                cells.append(f"{rr[0]['rps']:,.0f} ({fmt(rd)}, {fmt(rh)})")
            if any(c != "–" for c in cells):
                L.append(f"| {w} | {t} | " + " | ".join(cells) + " |")

    lat = [r for r in records if r["workload"] == "latency"]
    if lat:
        rate = lat[0].get("rate", 0)
        L += ["", f"## Connection latency under moderate load", "",
              f"conn_latency, open loop: {rate:,} new connections/s ({rate * 3600 / 1e6:.1f}M messages/hour, "
              f"{rate * 3600 / CEILING_PER_HOUR:.2f}× the 960K/h ceiling), one request each, latency from the "
              "scheduled connect to the response's end. Medians over rounds.", "",
              "| target | p50 µs | p90 µs | p99 µs | p99.9 µs | CPU-s/100k proxy | +kthreads | errors |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for t in targets:
            rs = by(lat, target=t)
            if rs:
                L.append(f"| {t} | {median([r['p50_us'] for r in rs]):,.0f} | {median([r['p90_us'] for r in rs]):,.0f} | "
                         f"{median([r['p99_us'] for r in rs]):,.0f} | {median([r['p999_us'] for r in rs]):,.0f} | "
                         f"{fmt(median([cpu_per_100k(r, 'proxy') for r in rs]), '.3f')} | "
                         f"{fmt(median([cpu_per_100k(r, 'total') for r in rs]), '.3f')} | "
                         f"{sum(r.get('errors', 0) + r.get('skipped', 0) for r in rs)} |")

    idle = [r for r in records if r["workload"] == "idle"]
    if idle:
        L += ["", "## Idle connections held", "",
              "hold_conns opens the connections (each proved end to end by one request), then they sit idle. "
              "Per connection, against a baseline taken just before: the proxy's RSS, the kernel's TCP buffer "
              "memory (/proc/net/sockstat `mem`), sockets in use, and slab (every socket on the machine: "
              "client, proxy and backend sides).", "",
              "| target | held | failed | time to establish s | p99 ms | proxy RSS MiB | RSS B/conn | "
              "TCP mem B/conn | sockets/conn | slab B/conn |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in idle:
            L.append(f"| {r['target']} | {r['established']:,}/{r['requested']:,} | {r['failed']} | "
                     f"{fmt(r['establish_s'])} | {fmt(r['establish_p99_ms'], '.1f')} | {fmt(r['rss_mib'], '.1f')} | "
                     f"{r['rss_per_conn_b']:,.0f} | {r['tcp_mem_per_conn_b']:,.0f} | {fmt(r['sockets_per_conn'])} | "
                     f"{r['slab_per_conn_b']:,.0f} |")

    if micro:
        L += ["", "## Maglev microbenchmarks", "",
              "Google Benchmark, release build, CPU time. The Maglev paper (NSDI'16) reports 1.8 ms to build "
              "a 65,537-slot table.", "", "| benchmark | time |", "|---|---:|"]
        L += [f"| {name} | {t} |" for name, t in micro]
    return "\n".join(L) + "\n"
