"""pytest plugin for running the suite on several pytest-xdist workers (scripts/test.sh loads it with -p).

Each worker gets stores of its own before Django reads its settings: a redis-server of its own (tests
flush the cache, and chat's PUBLISH channels are shared by every database of a server), its own MongoDB
database, and its own VAR_DIR and MEDIA_ROOT. The variables are set in os.environ, so the servers and
Celery workers that e2e tests start inherit them. PostgreSQL needs nothing here: pytest-django already
gives each worker its own test database. Without xdist (or with ``-n 0``) this plugin does nothing.
"""

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_redis: subprocess.Popen | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _redis_start(folder: Path) -> int:
    """A redis-server on a free loopback port, its pid in ``folder`` (scripts/test.sh stops it if we can't)."""
    global _redis
    for _attempt in range(5):
        port = _free_port()
        _redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--logfile", str(folder / "redis.log"), "--pidfile", str(folder / "redis.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while _redis.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return port
            time.sleep(0.05)
        # Another process took the port between the probe and redis binding it: try another.
        _redis_stop()
    raise pytest.UsageError(f"worker {WORKER}: redis-server did not start, see {folder / 'redis.log'}")


def _redis_stop() -> None:
    if _redis is not None and _redis.poll() is None:
        _redis.terminate()
        try:
            _redis.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _redis.kill()
            _redis.wait()


def worker_environment(worker: str) -> dict[str, str]:
    """The variables that keep ``worker``'s stores and files apart from the other workers'."""
    base = Path(os.environ.get("TEST_TMP") or tempfile.mkdtemp(prefix="streamlite-test-"))
    folder = base / worker
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        "TEST_TMP": str(folder),
        "VAR_DIR": str(folder / "var"),
        "MEDIA_ROOT": str(folder / "media"),
        "MONGO_DB": f"{os.environ.get('MONGO_DB', 'streamlite')}_{worker}",
        "REDIS_URL": f"redis://127.0.0.1:{_redis_start(folder)}/0",
    }
    # Set explicitly, these would still point every worker at the shared ones.
    for name, path in (("HLS_ROOT", "hls"), ("RECORDINGS_ROOT", "recordings")):
        if name in os.environ:
            env[name] = str(folder / path)
    if "CELERY_BROKER_URL" in os.environ:
        env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    # Work folders named after a database id (a VOD rung's "vodrung-<pk>-") would meet another worker's:
    # each worker's database numbers from 1, and a run clears its own id's leftovers.
    (folder / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(folder / "tmp")
    return env


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper runs before pytest-django's own hook, which loads the settings.
    if WORKER:
        os.environ.update(worker_environment(WORKER))
        tempfile.tempdir = os.environ["TMPDIR"]
    return (yield)


def pytest_unconfigure(config):
    _redis_stop()
