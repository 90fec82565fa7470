"""A real Celery worker process: its records are JSON lines with the task's id and name and the id of the
request that enqueued the task, and its task failures reach /metrics through Redis."""

import json
import os
import time

import pytest

from streamlite.celery import app
from streamlite.logs import log_context_reset, log_context_set
from tests.e2e.conftest import running_celery, shared_database_url
from tests.ops.conftest import scrape

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "ops-test"  # only this test's tasks: other tests may leave tasks queued for no worker
TASK = "streams.tasks.streams_reap_stale"


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def log_wait(log, *needles: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(needle in log.read_text() for needle in needles):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def test_worker_logs_task_and_request_ids_and_its_failures_are_counted(client, tmp_path):
    failures = ("streamlite_celery_task_failures_total", ("task", TASK))
    before = scrape(client).get(failures, 0)
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "LOG_FORMAT": "json"}
    log = tmp_path / "worker.log"
    worker = running_celery(
        "worker", "--concurrency", "1", "--hostname", "ops@%h", "-Q", QUEUE,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        env=env, log=log, ready_line=" ready.",
    )  # fmt: skip
    with worker:
        # As if enqueued while serving a request.
        token = log_context_set({"request_id": "req-from-the-web-0001"})
        try:
            ok = app.send_task(TASK, queue=QUEUE)
            bad = app.send_task(TASK, kwargs={"unexpected": 1}, queue=QUEUE)
        finally:
            log_context_reset(token)
        log_wait(log, f"[{ok.id}] succeeded", f"[{bad.id}] raised")
    lines = json_lines(log.read_text())
    succeeded = next(line for line in lines if line["message"].startswith(f"Task {TASK}[{ok.id}] succeeded"))
    assert (succeeded["task_id"], succeeded["task_name"]) == (ok.id, TASK)
    assert succeeded["request_id"] == "req-from-the-web-0001"
    failed = next(line for line in lines if line["message"].startswith(f"Task {TASK}[{bad.id}] raised"))
    assert failed["level"] == "ERROR" and "exc_info" in failed
    assert scrape(client)[failures] - before == 1
