"""The stack exactly as `make run` starts it (scripts/run.sh) in a folder of its own, on ports of its own,
for the benchmarks that measure what users run."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    """scripts/run.sh with its own VAR_DIR, ports and media folder, in its own process group."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.ports = {
            name: free_port()
            for name in ("PG_PORT", "REDIS_PORT", "MONGO_PORT", "WEB_PORT", "RTMP_PORT", "HLS_HTTP_PORT")
        }
        self.env = {
            **os.environ,
            **{name: str(port) for name, port in self.ports.items()},
            "VAR_DIR": str(folder / "var"),
            "MEDIA_ROOT": str(folder / "media"),
            "STATIC_ROOT": str(folder / "static"),
        }
        for name in ("DATABASE_URL", "REDIS_URL", "MONGO_URL", "SECRET_KEY", "RTMP_HOOK_SECRET", "DEBUG", "HLS_ROOT",
                     "RECORDINGS_ROOT", "PROMETHEUS_MULTIPROC_DIR"):  # fmt: skip
            self.env.pop(name, None)
        self.web = f"http://127.0.0.1:{self.ports['WEB_PORT']}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 300) -> None:
        self.output = (self.folder / "run.out").open("wb")
        self.process = subprocess.Popen(
            ["scripts/run.sh"], cwd=ROOT, env=self.env, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not (self.folder / "run.out").read_text(errors="replace").count("Press Ctrl-C"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "make run did not start:\n" + (self.folder / "run.out").read_text()[-3000:]
                )
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # Each service runs in a session of its own: should run.sh not finish its own stopping, they
            # would outlive it (a web process was found an hour after a run).
            family = [(pid, started_at(pid)) for pid in descendants(self.process.pid)]
            self.process.send_signal(signal.SIGINT)  # what Ctrl-C does
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print("make run did not stop within 60 s; killing what it started", file=sys.stderr)
                os.killpg(self.process.pid, signal.SIGKILL)
            for pid, started in family:
                if started is not None and started_at(pid) == started:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            # Redis and the MongoDB stand-in run detached from run.sh: stop them as its cleanup would
            # (by their pid files; nothing to do when it got there).
            subprocess.run(
                ["scripts/services.sh", "stop", str(self.folder / "var/services")],
                cwd=ROOT, env=self.env, timeout=120, check=False, capture_output=True,
            )  # fmt: skip

    def django(self) -> None:
        """Django in this process, on the stack's stores and secrets, to make users and read results."""
        secrets = dict(
            line.split("=", 1)
            for line in (self.folder / "var/secrets.env").read_text().splitlines()
            if "=" in line
        )
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "streamlite.settings",
                "DEBUG": "0",
                "VAR_DIR": self.env["VAR_DIR"],
                "MEDIA_ROOT": self.env["MEDIA_ROOT"],
                "DATABASE_URL": f"postgres://streamlite@127.0.0.1:{self.ports['PG_PORT']}/postgres",
                "REDIS_URL": f"redis://127.0.0.1:{self.ports['REDIS_PORT']}/0",
                "MONGO_URL": f"mongodb://127.0.0.1:{self.ports['MONGO_PORT']}/",
                **secrets,
            }
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def logs(self) -> dict[str, str]:
        folder = self.folder / "var"
        paths = [*sorted((folder / "log").glob("*.log")), folder / "nginx/error.log", self.folder / "run.out"]
        return {path.name: path.read_text(errors="replace") for path in paths if path.exists()}


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (run.sh starts each service in a session of its own, but they stay
    its children)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except FileNotFoundError:
                continue
            found += kids
            todo += kids
    return found


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().split(b"\0")
    except FileNotFoundError:
        return "?"
    text = " ".join(word.decode(errors="replace") for word in words if word)
    if "streamlite.web_processes" in text:
        return "web"
    for marker in ("multiprocessing", "uvicorn", "celery", "redis-server", "postgres", "nginx", "mongo"):
        if marker in text:
            return marker if marker != "multiprocessing" else "uvicorn worker"
    return text[:40]


def started_at(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): the same pid and start are the same process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except FileNotFoundError:
        return None


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
