"""Shared end-to-end fixtures: real server processes talking to the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_database_url() -> str:
    """DATABASE_URL of the database pytest-django created, for processes outside this one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("server processes need a database they can share: run with PostgreSQL (make test)")
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + connection.settings_dict["NAME"]).geturl()


# How long a server process may take to start: importing Django takes seconds on a quiet machine, but
# minutes when the suite's workers and other jobs share the cores. A wait, not a timing under test.
STARTUP_S = 180


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float = STARTUP_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urlopen(url, timeout=1):  # noqa: S310 (our own loopback server)
                return
        except (URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail(f"server did not answer {url} within {timeout} s:\n{log.read_text()[-4000:]}")


@contextmanager
def running_web(*, port: int, env: dict, log: Path):
    """A web process serving the project on ``port`` until the block ends, started as ``make run`` starts
    each of its web processes (streamlite.web_processes: uvicorn and its options); yields its base URL."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlite.web_processes", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base_url}/healthz", process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def web_server(django_db_setup, tmp_path_factory):
    """Base URL of a real web process serving the project's ASGI app on a free loopback port.

    It shares the test database, so tests must commit what it should see:
    mark them ``@pytest.mark.django_db(transaction=True)``.
    """
    env = {**os.environ, "DATABASE_URL": shared_database_url()}
    log = tmp_path_factory.mktemp("web") / "web.log"
    with running_web(port=free_port(), env=env, log=log) as base_url:
        yield base_url


CELERY = Path(sys.executable).with_name("celery")


@contextmanager
def running_celery(*args: str, env: dict, log: Path, ready_line: str):
    """A real ``celery -A streamlite <args>`` process until the block ends, once ``ready_line`` is in its log.

    It runs in its own process group, so stopping it also stops its pool children and their ffmpeg.
    Its live quality ladder is off unless ``env`` turns it on: transcoding would load the machine for tests
    about other things.
    """
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(CELERY), "-A", "streamlite", *args, "--loglevel", "INFO"],
            cwd=REPO_ROOT,
            env={"LADDER_SUPERVISOR": "false", **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while ready_line not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"celery {args[0]} did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def running_celery_worker(*, name: str, env: dict, log: Path):
    """One real Celery worker (one task at a time) named ``name``; yields its process."""
    return running_celery(
        "worker", "--concurrency", "1", "--hostname", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        env=env, log=log, ready_line=" ready.",
    )  # fmt: skip


def running_celery_beat(*, env: dict, folder: Path):
    """The site's one Celery beat, its schedule state kept in ``folder``; yields its process."""
    return running_celery(
        "beat", "--schedule", str(folder / "beat-schedule"), "--pidfile", "",
        env=env, log=folder / "beat.log", ready_line="beat: Starting",
    )  # fmt: skip
