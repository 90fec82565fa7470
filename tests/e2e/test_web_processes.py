"""The web processes as `make run` starts them (streamlite.web_processes): one listening socket each, so the
kernel spreads connections between them, on a port nothing else holds."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO_ROOT, free_port, shared_database_url, wait_until_serving

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LISTEN, ESTABLISHED = "0A", "01"


def launcher(port: int, workers: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": shared_database_url()}
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlite.web_processes",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def serving(port: int, workers: int, log: Path):
    process = launcher(port, workers, log)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, log)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def children(pid: int) -> list[int]:
    return [int(kid) for kid in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def tcp_sockets(port: int, state: str) -> set[int]:
    """Inodes of this host's TCP sockets whose local port is ``port``, in ``state``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def sockets_of(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def test_each_web_process_listens_on_a_socket_of_its_own_and_gets_its_share(tmp_path):
    port = free_port()
    with serving(port, 2, tmp_path / "web.log") as parent, ExitStack() as clients:
        kids = children(parent.pid)
        assert len(kids) == 2
        listening = tcp_sockets(port, LISTEN)
        own = [sockets_of(kid) & listening for kid in kids]
        assert all(len(sockets) == 1 for sockets in own) and own[0] != own[1], own

        for _ in range(200):
            clients.enter_context(socket.create_connection(("127.0.0.1", port)))
        deadline = time.monotonic() + 30
        while True:  # until both processes have accepted every connection
            established = tcp_sockets(port, ESTABLISHED)
            accepted = [len(sockets_of(kid) & established) for kid in kids]
            if sum(accepted) == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sum(accepted) == 200
        # The kernel hashes each connection to one socket: 100 each on average, below 60 almost never.
        assert min(accepted) >= 60, accepted


def test_a_port_already_in_use_is_refused_even_by_a_second_site(tmp_path):
    port = free_port()
    with serving(port, 2, tmp_path / "first.log"):
        second = launcher(port, 2, tmp_path / "second.log")
        assert second.wait(timeout=120) == 1
        assert "cannot listen on 127.0.0.1" in (tmp_path / "second.log").read_text()


def test_when_one_web_process_dies_the_others_stop_and_the_launcher_says_so(tmp_path):
    port = free_port()
    with serving(port, 2, tmp_path / "web.log") as parent:
        kids = children(parent.pid)
        os.kill(kids[0], signal.SIGKILL)
        assert parent.wait(timeout=60) != 0
        assert all(not Path(f"/proc/{kid}").exists() for kid in kids)  # stopped and reaped


def test_stopping_the_launcher_stops_every_web_process(tmp_path):
    port = free_port()
    with serving(port, 2, tmp_path / "web.log") as parent:
        kids = children(parent.pid)
        parent.terminate()
        assert parent.wait(timeout=60) == 0
        assert all(not Path(f"/proc/{kid}").exists() for kid in kids)
