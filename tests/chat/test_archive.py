"""The outbox flush into MongoDB, on real Redis and SecantusDB (the MongoDB stand-in)."""

import io
import json
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from pymongo.errors import PyMongoError

from chat.archive import GROUP, archive_indexes_ensure, outbox_drain, outbox_flush
from chat.tasks import chat_outbox_flush
from streamlite.mongo import MESSAGES, mongo_client
from streamlite.redis import keys, redis_sync

pytestmark = pytest.mark.django_db


def outbox_length() -> int:
    return redis_sync().xlen(keys.CHAT_OUTBOX)


def test_flush_archives_each_message_once_even_when_replayed(mongo_archive, outbox_add):
    docs = [outbox_add(room_id=7, text=f"msg {n}") for n in range(3)]
    assert outbox_flush(consumer="a") == 3
    assert outbox_flush(consumer="a") == 0
    assert outbox_length() == 0  # acknowledged entries are deleted, the stream does not grow
    # The pipeline's XADD replayed (e.g. a retried batch): the same ids again, and a second flush.
    for doc in docs:
        redis_sync().xadd(keys.CHAT_OUTBOX, {"doc": json.dumps(doc)})
    assert outbox_flush(consumer="a") == 3
    messages = mongo_archive[MESSAGES]
    assert messages.count_documents({}) == 3
    stored = messages.find_one({"_id": docs[0]["_id"]})
    assert stored["text"] == "msg 0" and stored["room"] == 7 and stored["deleted"] is False
    # BSON dates keep milliseconds.
    sent = datetime.fromisoformat(docs[0]["created_at"])
    assert abs(stored["created_at"] - sent) < timedelta(milliseconds=1)


def test_replay_never_undoes_a_deletion(mongo_archive, outbox_add):
    doc = outbox_add(room_id=7)
    outbox_flush(consumer="a")
    mongo_archive[MESSAGES].update_one({"_id": doc["_id"]}, {"$set": {"deleted": True}})
    redis_sync().xadd(keys.CHAT_OUTBOX, {"doc": json.dumps(doc)})
    outbox_flush(consumer="a")
    assert mongo_archive[MESSAGES].find_one({"_id": doc["_id"]})["deleted"] is True


def test_malformed_entry_is_dropped_without_blocking_the_rest(mongo_archive, outbox_add):
    redis_sync().xadd(keys.CHAT_OUTBOX, {"doc": "{not json"})
    doc = outbox_add(room_id=7)
    assert outbox_flush(consumer="a") == 2
    assert mongo_archive[MESSAGES].count_documents({}) == 1
    assert mongo_archive[MESSAGES].find_one()["_id"] == doc["_id"]
    assert outbox_length() == 0


def test_batches_are_bounded_and_the_drain_takes_them_all(mongo_archive, outbox_add):
    for n in range(25):
        outbox_add(room_id=7, text=str(n))
    assert outbox_flush(consumer="a", batch=10) == 10
    assert outbox_drain(consumer="a", seconds=5, batch=10) == 15
    assert mongo_archive[MESSAGES].count_documents({}) == 25


def test_pending_entries_of_a_dead_consumer_are_claimed(mongo_archive, outbox_add, monkeypatch):
    docs = [outbox_add(room_id=7, text=str(n)) for n in range(3)]
    client = redis_sync()
    outbox_flush(consumer="a")  # creates the group; nothing pending yet
    docs += [outbox_add(room_id=7, text=str(n)) for n in range(3, 5)]
    # A worker read these two and died before writing them to MongoDB.
    client.xreadgroup(GROUP, "dead", {keys.CHAT_OUTBOX: ">"}, count=10)
    assert client.xpending(keys.CHAT_OUTBOX, GROUP)["pending"] == 2
    assert outbox_flush(consumer="b") == 0  # not idle long enough: the owner may still be working
    monkeypatch.setattr("chat.archive.CLAIM_IDLE_MS", 50)
    time.sleep(0.1)
    assert outbox_flush(consumer="b") == 2
    assert client.xpending(keys.CHAT_OUTBOX, GROUP)["pending"] == 0
    assert {d["_id"] for d in mongo_archive[MESSAGES].find()} == {d["_id"] for d in docs}


def test_indexes_are_created_idempotently(mongo_archive):
    archive_indexes_ensure()
    call_command("chat_archive_indexes", stdout=io.StringIO())
    keys = {tuple(index["key"].items()) for index in mongo_archive[MESSAGES].list_indexes()}
    assert (("room", 1), ("created_at", 1)) in keys
    assert (("stream", 1), ("vpos_ms", 1)) in keys
    assert (("room", 1), ("_id", -1)) in keys


def test_celery_task_drains_the_outbox(mongo_archive, outbox_add, celery_eager):
    for n in range(3):
        outbox_add(room_id=7, text=str(n))
    assert chat_outbox_flush.delay().get() == 3
    assert mongo_archive[MESSAGES].count_documents({}) == 3


def test_one_flush_task_runs_at_a_time(mongo_archive, outbox_add, celery_eager):
    outbox_add(room_id=7)
    held = redis_sync().lock(keys.CHAT_OUTBOX_LOCK, timeout=5)
    assert held.acquire(blocking=False)
    assert chat_outbox_flush.delay().get() == 0
    assert outbox_length() == 1
    held.release()
    assert chat_outbox_flush.delay().get() == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def secantus_start(port: int, storage: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("secantusd-py")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(storage),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("secantusd-py did not start")


@pytest.fixture
def own_mongo(settings, tmp_path):
    """A MongoDB stand-in of this test alone, which the test stops and restarts (same storage)."""
    port, storage = free_port(), tmp_path / "mongo"
    settings.MONGO_URL = f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1000"
    settings.MONGO_DB = "archive"
    mongo_client.cache_clear()
    servers = [secantus_start(port, storage)]

    def restart() -> None:
        servers.append(secantus_start(port, storage))

    def stop() -> None:
        servers[-1].terminate()
        servers[-1].wait(timeout=10)

    yield stop, restart
    for server in servers:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    mongo_client().close()
    mongo_client.cache_clear()


def test_mongo_down_keeps_the_outbox_and_it_drains_exactly_once_afterwards(
    own_mongo, outbox_add, celery_eager
):
    stop, restart = own_mongo
    first = outbox_add(room_id=7, text="before")
    assert outbox_flush(consumer="w") == 1
    stop()
    later = [outbox_add(room_id=7, text=f"during {n}") for n in range(3)]
    with pytest.raises(PyMongoError):
        outbox_flush(consumer="w")
    # The task survives the outage (chat goes on) and leaves everything in the outbox.
    assert chat_outbox_flush.delay().get() == 0
    assert outbox_length() == 3
    restart()
    assert outbox_drain(consumer="w", seconds=5) == 3
    assert outbox_length() == 0
    assert redis_sync().xpending(keys.CHAT_OUTBOX, GROUP)["pending"] == 0
    messages = mongo_client()["archive"][MESSAGES]
    assert sorted(d["_id"] for d in messages.find()) == sorted([first["_id"], *(d["_id"] for d in later)])
