"""What every benchmark needs: Django set up against the bench database, and a real web server."""

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamlite.settings")

import django  # noqa: E402

django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (loopback URL we built)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


SERVERS = {
    "daphne": lambda port: [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port)],
    # As `make run` starts each web process (streamlite.web_processes, one process: no fork).
    "site": lambda port: [
        str(ROOT / ".venv/bin/python"),
        "-m",
        "streamlite.web_processes",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ],
    # For a checkout older than streamlite.web_processes: the options it gives uvicorn.
    "uvicorn": lambda port: [
        str(ROOT / ".venv/bin/uvicorn"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
    ],
}


class ServerURL(str):
    """The base URL of a web server started here, with the pid of its (first) process."""

    pid: int


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and of all its descendants alive now, e.g. uvicorn's workers."""
    parents: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            stats[int(entry)] = fields
            parents.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += int(stats[current][11]) + int(stats[current][12])
        todo += parents.get(current, [])
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def web_server(extra_env: dict | None = None, server: str = "daphne", workers: int = 1, cwd: Path = ROOT):
    """An ASGI server (Daphne, or uvicorn or the site's launcher with ``workers`` processes) serving the
    site on a free loopback port; yields its URL (a ServerURL). ``cwd``: another checkout of the code to
    serve (with this one's virtualenv), to compare two versions in one run."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    if workers > 1 and server == "daphne":
        raise ValueError("Daphne runs one process")
    extra_args = ["--workers", str(workers)] if workers > 1 else []
    app = [] if server == "site" else ["streamlite.asgi:application"]
    proc = subprocess.Popen(
        [*SERVERS[server](port), *extra_args, *app],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.pid = proc.pid
    try:
        wait_http(base + "/healthz")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"n={len(ms)} p50={statistics.median(ms):.1f} ms p90={percentile(ms, 90):.1f} ms "
        f"p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )
