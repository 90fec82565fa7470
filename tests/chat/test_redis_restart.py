"""A Redis restart mid-chat (issue 4): the hub's pub/sub reconnects by itself, a client that reconnects
resumes from its last seq without repeats, chat flows again, and every acknowledged message reaches
MongoDB exactly once.

The test runs a Redis server of its own with ``--appendonly yes``: acknowledged messages, the id and seq
counters and the outbox live in Redis until the archiver moves them, so production Redis must persist them
(AOF) for "acknowledged" to mean anything across a restart. Without it the counters would start again and
new messages would reuse archived ids. A clean stop (SIGTERM) writes the AOF out; a crash of a Redis run
with the default ``appendfsync everysec`` could lose up to a second of it."""

import asyncio
import json
import shutil
import signal
import subprocess
import time

import pytest
import redis

from chat.archive import outbox_drain
from chat.consumers import CLOSE_TRY_LATER
from chat.hub import Socket
from streamlite.mongo import MESSAGES
from streamlite.redis import keys, redis_sync
from tests.chat.test_archive import free_port
from tests.chat.test_consumer import events_until, first
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class RedisServer:
    def __init__(self, *, port: int, folder):
        self.port, self.folder, self.process = port, folder, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(port=self.port, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                probe.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        # SIGTERM is Redis's clean shutdown: the AOF is flushed and fsynced before it exits.
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def chat_redis_flushed(settings, tmp_path):
    """Overrides the shared fixture: this test's Redis is a server of its own (empty), which it restarts."""
    server = RedisServer(port=free_port(), folder=tmp_path)
    server.start()
    url = f"redis://127.0.0.1:{server.port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    redis_sync.cache_clear()  # the sync client is per process; the hub's async one is per event loop
    yield server
    server.kill()
    redis_sync.cache_clear()


async def chats(communicator, count: int) -> list[dict]:
    """The next ``count`` chat messages the socket shows, repeats dropped by id as the page does."""
    shown = communicator.shown = getattr(communicator, "shown", set())
    fresh: list[dict] = []
    while len(fresh) < count:
        for event in await events_until(communicator, "chat"):
            if event["type"] == "chat" and event["id"] not in shown:
                shown.add(event["id"])
                fresh.append(event)
    return fresh


async def subscribed(room_id: int) -> None:
    """Wait until a hub is subscribed to the room's frames on the (restarted) server."""
    async with asyncio.timeout(10):
        while not dict(await asyncio.to_thread(redis_sync().pubsub_numsub, keys.chat_frames(room_id)))[
            keys.chat_frames(room_id)
        ]:
            await asyncio.sleep(0.05)


async def test_redis_restart_mid_chat(chat_redis_flushed, ws_open, mongo_archive):
    server = chat_redis_flushed
    room = await asyncio.to_thread(RoomFactory, comment_cooldown_ms=0)
    alice, bob, carol = [await asyncio.to_thread(UserFactory, username=n) for n in ("alice", "bob", "carol")]
    sender = await ws_open(room.pk, user=alice)
    reader = await ws_open(room.pk, user=bob)
    away = await ws_open(room.pk, user=carol)
    acked = []
    for n in range(3):
        await sender.send_json_to({"type": "chat", "text": f"before {n}", "client_id": f"b{n}"})
        acked.append(await first(sender, "ack"))
    assert [e["text"] for e in await chats(reader, 3)] == ["before 0", "before 1", "before 2"]
    carol_last_seq = (await chats(away, 3))[-1]["seq"]

    await asyncio.to_thread(server.stop)
    await away.disconnect()  # carol's network drops during the outage
    # A message sent meanwhile is not acked: the server closes the socket so that the client reconnects.
    await sender.send_json_to({"type": "chat", "text": "during", "client_id": "d0"})
    async with asyncio.timeout(5):
        while (output := await sender.receive_output(timeout=5))["type"] != "websocket.close":
            assert '"ack"' not in output["text"]
    assert output["code"] == CLOSE_TRY_LATER
    refused = await ws_open(room.pk, user=alice, expect_join=False)  # so is a socket opened meanwhile
    assert await refused.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_TRY_LATER}
    await asyncio.sleep(1.5)  # the hub's reader and tick run into the dead connection meanwhile
    await asyncio.to_thread(server.start)

    # Nobody reconnected bob's socket: the hub subscribed again by itself and his socket still works.
    await subscribed(room.pk)
    sender = await ws_open(room.pk, user=alice)
    await sender.send_json_to({"type": "chat", "text": "during", "client_id": "d0"})  # the client resends
    acked.append(await first(sender, "ack"))
    for n in range(2):
        await sender.send_json_to({"type": "chat", "text": f"after {n}", "client_id": f"a{n}"})
        acked.append(await first(sender, "ack"))
    assert [e["text"] for e in await chats(reader, 3)] == ["during", "after 0", "after 1"]
    assert [a["id"] for a in acked] == sorted({a["id"] for a in acked})  # the counters survived

    back = await ws_open(room.pk, user=carol)
    # Her new join batch carries what she missed; resuming from her last seq sends none of it twice.
    assert [(e["text"], e["seq"]) for e in back.join["events"] if e["type"] == "chat"][-3:] == [
        ("during", acked[3]["seq"]),
        ("after 0", acked[4]["seq"]),
        ("after 1", acked[5]["seq"]),
    ]
    await back.send_json_to({"type": "resume", "after_seq": carol_last_seq})
    await sender.send_json_to({"type": "chat", "text": "last", "client_id": "z"})
    acked.append(await first(sender, "ack"))
    assert [e["text"] for e in await chats(back, 1)] == ["last"]

    assert await asyncio.to_thread(outbox_drain, consumer="w", seconds=5) == 7
    messages = mongo_archive[MESSAGES]
    for ack in acked:
        assert await asyncio.to_thread(messages.count_documents, {"_id": ack["id"]}) == 1
    assert await asyncio.to_thread(messages.count_documents, {}) == len(acked)


async def test_the_hub_refills_its_rooms_after_pubsub_came_back(chat_redis_flushed, chat_hub):
    """A frame lost with the connection (a tick that failed, another process's publish before this hub
    subscribed again) would leave a connected socket with a gap it cannot see, and no later event may come
    to show it: once back, the hub fills each room up to its last seq from the recent list."""
    frames = []

    async def send(frame):
        frames.append(json.loads(frame))

    async def close(code):
        pass

    await chat_hub.join(room_id=5, socket=Socket(send=send, close=close, user_id=None))
    lost = {"type": "chat", "id": 1, "seq": 1, "text": "never published", "user": {"username": "a"}}
    await asyncio.to_thread(redis_sync().rpush, keys.chat_recent(5), json.dumps(lost))
    await asyncio.to_thread(redis_sync().incr, keys.chat_seq(5))  # numbered, its publish never seen
    await asyncio.to_thread(chat_redis_flushed.stop)
    await asyncio.sleep(1.5)
    await asyncio.to_thread(chat_redis_flushed.start)
    async with asyncio.timeout(10):
        while not any(lost in frame["events"] for frame in frames):
            await asyncio.sleep(0.05)
