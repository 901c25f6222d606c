"""The processes a benchmark run starts: the backend nginx and the proxies under test.

Every process is started here, remembered by PID, and stopped by PID (SIGTERM, then SIGKILL
after a grace period) by Processes.stop_all(); nothing is left listening. Configs are written
into the run's scratch directory. Each proxy gets the same worker count (`threads`), one pool
of the same two backends, and hashes on the client address as its operators would configure it.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

# Debian's dynamic stream module (libnginx-mod-stream).
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
# The small API response: what a gateway's health or status call returns.
JSON_BODY = '{"status":"ok","gateway":"oic-1","messages":1}'
BULK_FILE = "1m.bin"
BULK_SIZE = 1 << 20


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice for port 0). Racy by nature: a bench
    helper only; the integration tests use a race-free reservation."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Processes:
    """Owns every child process of the run."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, argv, log_path, **kw) -> subprocess.Popen:
        log = open(log_path, "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        log.close()
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen, grace: float = 5.0) -> None:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self) -> None:
        for p in list(reversed(self.procs)):
            self.stop(p)


@dataclass
class Target:
    """One thing wrk is pointed at: direct to the backend, or a proxy in front of it."""
    name: str
    port: int
    proc: subprocess.Popen | None = None  # None for direct
    note: str = ""                       # why it is unavailable, when it is
    available: bool = True

    def pids(self) -> list[int]:
        """The proxy's processes (nginx: master and workers), for CPU and RSS accounting."""
        if self.proc is None:
            return []
        return [self.proc.pid] + children_of(self.proc.pid)


def children_of(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    return out


def start_backend(procs: Processes, tmp: str, threads: int) -> list[int]:
    """nginx standing in for two API gateways: a small JSON reply and a 1 MiB file."""
    ports = [free_port(), free_port()]
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, BULK_FILE), "wb") as f:
        f.write(os.urandom(BULK_SIZE))
    # nginx's workers run as nobody when started by root: they must be able to read the file.
    for path, mode in ((tmp, 0o755), (www, 0o755), (os.path.join(www, BULK_FILE), 0o644)):
        os.chmod(path, mode)
    listens = "\n".join(f"    listen 127.0.0.1:{p} backlog=4096 reuseport;" for p in ports)
    conf = f"""
worker_processes {threads};
worker_rlimit_nofile 20000;
daemon off;
pid {tmp}/backend.pid;
error_log {tmp}/backend-error.log;
events {{ worker_connections 19000; }}
http {{
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush on;
  server {{
{listens}
    root {www};
    location = / {{ default_type application/json; return 200 '{JSON_BODY}'; }}
  }}
}}
"""
    path = os.path.join(tmp, "backend.conf")
    with open(path, "w") as f:
        f.write(conf)
    procs.start(["nginx", "-p", tmp, "-c", path], os.path.join(tmp, "backend.log"))
    for p in ports:
        if not wait_accepting(p):
            raise RuntimeError(f"backend nginx is not accepting on {p}: see {tmp}/backend-error.log")
    return ports


def start_haproxy(procs: Processes, tmp: str, threads: int, backends: list[int], maxconn: int) -> Target:
    port = free_port()
    servers = "\n".join(f"  server gw{i} 127.0.0.1:{p}" for i, p in enumerate(backends))
    conf = f"""
global
  nbthread {threads}
  maxconn {maxconn}
defaults
  mode tcp
  timeout connect 3s
  timeout client 10m
  timeout server 10m
frontend fe
  bind 127.0.0.1:{port}
  default_backend gateways
backend gateways
  balance source
  hash-type consistent
{servers}
"""
    path = os.path.join(tmp, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(conf)
    p = procs.start(["haproxy", "-f", path, "-db"], os.path.join(tmp, "haproxy.log"))
    return _ready(procs, Target("haproxy", port, p), "haproxy.log")


def start_nginx_stream(procs: Processes, tmp: str, threads: int, backends: list[int]) -> Target:
    port = free_port()
    if not os.path.exists(NGINX_STREAM_MODULE):
        return Target("nginx", port, available=False,
                      note=f"{NGINX_STREAM_MODULE} missing (libnginx-mod-stream)")
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in backends)
    conf = f"""
load_module {NGINX_STREAM_MODULE};
worker_processes {threads};
worker_rlimit_nofile 20000;
daemon off;
pid {tmp}/stream.pid;
error_log {tmp}/stream-error.log;
events {{ worker_connections 19900; }}
stream {{
  upstream gateways {{
    hash $remote_addr consistent;
{servers}
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    proxy_pass gateways;
    proxy_timeout 10m;
  }}
}}
"""
    path = os.path.join(tmp, "stream.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = procs.start(["nginx", "-p", tmp, "-c", path], os.path.join(tmp, "stream.log"))
    return _ready(procs, Target("nginx", port, p), "stream-error.log")


def start_ringlb(procs: Processes, tmp: str, binary: str, threads: int, backends: list[int],
                 datapath: str, promote_after: str | None = None) -> Target:
    port = free_port()
    name = f"ringlb-{datapath}"
    servers = "\n".join(f'[[pools.gateways.backends]]\naddress = "127.0.0.1:{p}"\n' for p in backends)
    promote = f'sockmap_promote_after = "{promote_after}"' if promote_after and datapath == "sockmap" else ""
    conf = f"""
[global]
workers = {threads}
admin = ""
[listeners.bench]
bind = "127.0.0.1:{port}"
pool = "gateways"
datapath = "{datapath}"
backlog = 4096
{promote}
[pools.gateways]
hash = "client_ip"
idle_timeout = "10m"
{servers}
"""
    path = os.path.join(tmp, f"{name}.toml")
    with open(path, "w") as f:
        f.write(conf)
    log = os.path.join(tmp, f"{name}.log")
    p = procs.start([binary, "--config", path], log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if p.poll() is not None:
            with open(log, errors="replace") as f:
                last = f.read().strip().splitlines()[-1:] or ["(no output)"]
            procs.stop(p)
            return Target(name, port, available=False, note=f"exited {p.returncode}: {last[0][:200]}")
        with open(log, errors="replace") as f:
            if " ready " in f.read():
                return Target(name, port, p)
        time.sleep(0.05)
    procs.stop(p)
    return Target(name, port, available=False, note="not ready within 15 s")


def _ready(procs: Processes, t: Target, log: str) -> Target:
    if wait_accepting(t.port) and t.proc.poll() is None:
        return t
    procs.stop(t.proc)
    return Target(t.name, t.port, available=False, note=f"did not start: see {log}")


@contextlib.contextmanager
def sockmap_ringlb(binary: str, backend_port: int, max_connections: int | None = None,
                   max_lag: str | None = None):
    """ringlb for the sockmap pause benchmarks: one worker in front of one backend, every
    connection promoted at once, logging at debug (its pause events). Yields (port, log path,
    PID); killed by PID, its scratch directory removed, on the way out."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="ringlb-sockmap-bench-")
    config, log = os.path.join(tmp, "ringlb.toml"), os.path.join(tmp, "ringlb.log")
    limit = f"max_connections = {max_connections}\n" if max_connections else ""
    lag = f'sockmap_max_lag = "{max_lag}"\n' if max_lag else ""
    with open(config, "w") as f:
        f.write(f"""[global]
workers = 1
admin = ""
{limit}[listeners.main]
bind = "127.0.0.1:{port}"
pool = "p"
datapath = "sockmap"
sockmap_promote_after = "0B"
{lag}[pools.p]
[pools.p.health]
interval = "5s"
[[pools.p.backends]]
address = "127.0.0.1:{backend_port}"
""")
    with open(log, "w") as err:
        lb = subprocess.Popen([binary, "--config", config], stderr=err,
                              env=dict(os.environ, RINGLB_LOG_LEVEL="debug"))
    try:
        if not wait_accepting(port):  # nothing else runs yet: a blocking wait is fine
            sys.exit(f"ringlb did not start; its log: {log}")
        yield port, log, lb.pid
    finally:
        lb.kill()
        lb.wait()
        shutil.rmtree(tmp, ignore_errors=True)
