"""Ops fixtures: Redis and MongoDB stand-in processes of a test's own (so a test can stop them), the real
moto_server of the VOD tests, and a scrape of /metrics parsed into numbers."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.chat.conftest import chat_hub, chat_redis_flushed, ws_open  # noqa: F401  (fixtures used here)
from tests.vod.conftest import free_port, moto_server, s3_storage  # noqa: F401

SECANTUSD = Path(sys.executable).with_name("secantusd-py")


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """A service process on a free loopback port, stopped by the test or at its end."""

    def __init__(self, command: list[str], port: int, log: Path):
        self.port = port
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180  # a loaded machine starts it slowly
        while not _answers(port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"{command[0]} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # the MongoDB stand-in may linger on its open connections
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def own_redis(tmp_path):
    port = free_port()
    server = Server(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        port, tmp_path / "redis.log",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def own_mongo(tmp_path):
    port = free_port()
    server = Server(
        [str(SECANTUSD), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(tmp_path / "mongo"),
         "--log-level", "WARNING"],
        port, tmp_path / "mongo.log",
    )  # fmt: skip
    yield server
    server.stop()


def scrape(client: Client | None = None, **extra) -> dict[tuple, float]:
    """/metrics as {(sample name, (label, value)...): value}; fails unless it answered 200."""
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
