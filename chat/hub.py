"""The per-process hub (chat-contract.md, "Delivery"): one Redis pub/sub connection per web process, one
PUBLISH per room per tick carrying every event of the tick in one frame serialised once, and that text
written unchanged to each local socket of the room through a bounded queue of its own."""

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from uuid import uuid4

from django.conf import settings
from redis.exceptions import RedisError

from chat import events as chat_events
from streamlite import metrics
from streamlite.gc_tuning import gc_tune
from streamlite.redis import chat_publish, chat_pubsub, chat_redis_async, chat_redis_sync, keys, redis_async

logger = logging.getLogger(__name__)

# Hubs also listen here for orders that concern sockets rather than rooms (close a banned user's sockets).
CLOSE_SLOW = 4008
CLOSE_KICKED = 4003
# Sockets a frame is handed to per turn of the event loop. All of a big room at once made one turn of
# ~1,000 writes, and each await of the accept path (Redis replies, acks) waited behind it; in slices,
# they get in between, and the first viewers read the frame while the last are still being written.
FANOUT_SLICE = 100


# What a client resuming after a gap must get: the messages, the deletions of messages it may still
# show, and pin changes. Viewers, room_state and the pin itself need not be kept: every (re)connect's join
# batch carries the present ones. A highlight shows once, live, so it is not kept either.
MESSAGE_TYPES = frozenset({"chat", "danmaku"})
RESUMABLE = MESSAGE_TYPES | {"delete", "pin", "unpin"}


def recent_append(pipe, *, room_id: int, events: list[dict]) -> None:
    """Queue on a Redis pipeline (sync or async) the keeping of the resumable events, seq set, in the
    room's recent list."""
    kept = [json.dumps(event, ensure_ascii=False) for event in events if event["type"] in RESUMABLE]
    if kept:
        pipe.rpush(keys.chat_recent(room_id), *kept)
        pipe.ltrim(keys.chat_recent(room_id), -settings.CHAT_RECENT_COUNT, -1)


class Socket:
    """One websocket as the hub sees it: frames queue up and a writer task of its own sends them, so a
    slow client only fills its own queue; when that is full the socket is closed, never waited for."""

    def __init__(
        self,
        *,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        user_id: int | None,
        limit: int | None = None,
    ):
        self.id = uuid4().hex
        self.user_id = user_id
        self.joined_at = time.monotonic()
        self._send = send
        self._close = close
        self._limit = limit or settings.CHAT_SOCKET_QUEUE_FRAMES
        self._frames: deque[str] = deque()
        # A bare future rather than an asyncio.Event: a fan-out wakes every socket of the room each frame.
        self._waiter: asyncio.Future | None = None
        self.closed = False
        self._writer = asyncio.create_task(self._write())

    def push(self, frame: str, *, first: bool = False) -> None:
        if self.closed:
            return
        if len(self._frames) >= self._limit:
            logger.info("closing a slow chat socket (%d frames queued)", len(self._frames))
            self.kill(CLOSE_SLOW)
            return
        if first:
            self._frames.appendleft(frame)
        else:
            self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def kill(self, code: int) -> None:
        """Stop writing and close the socket with ``code`` (the close itself must not wait on a stuck send)."""
        if self.closed:
            return
        self.stop()
        task = asyncio.create_task(self._close(code))
        task.add_done_callback(_log_failure)

    def stop(self) -> None:
        self.closed = True
        self._frames.clear()
        self._writer.cancel()

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._frames:
                await self._send(self._frames.popleft())
            self._waiter = loop.create_future()
            await self._waiter


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("chat socket task failed: %r", task.exception())


class Hub:
    def __init__(self) -> None:
        self.redis = redis_async()
        # The rooms' own keys and channels (a Redis Cluster when configured, else the same client).
        self.chat_redis = chat_redis_async()
        self.rooms: dict[int, set[Socket]] = {}
        self.pending: dict[int, list[dict]] = {}
        # Short in-process caches of what every message needs (rules, bans, the live stream's start).
        self.cache: dict[tuple, tuple[float, object]] = {}
        self._pubsub = chat_pubsub(self.chat_redis)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._started = asyncio.Lock()

    async def start(self) -> None:
        async with self._started:
            if self._tasks:
                return
            gc_tune("chat")
            await self._pubsub.subscribe(keys.CHAT_CONTROL)
            from chat.presence import presence_loop

            self._tasks = [
                asyncio.create_task(self._read()),
                asyncio.create_task(self._tick()),
                asyncio.create_task(presence_loop(self)),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for sockets in self.rooms.values():
            for socket in sockets:
                socket.stop()
        await self._pubsub.aclose()

    def cached(self, key: tuple, ttl_s: float):
        hit = self.cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
        return None

    def cache_set(self, key: tuple, value) -> None:
        self.cache[key] = (time.monotonic(), value)

    async def join(self, *, room_id: int, socket: Socket) -> None:
        await self.start()
        if room_id not in self.rooms:
            # Subscribed before the room is known here: a failed SUBSCRIBE (Redis down) is retried by the
            # next joiner instead of leaving the room registered but deaf.
            await self._pubsub.subscribe(keys.chat_frames(room_id))
        self.rooms.setdefault(room_id, set()).add(socket)

    async def leave(self, *, room_id: int, socket: Socket) -> bool:
        """Forget the socket; True when it was the room's last one in this process."""
        socket.stop()
        sockets = self.rooms.get(room_id)
        if sockets is None:
            return False
        sockets.discard(socket)
        if sockets:
            return False
        del self.rooms[room_id]
        try:
            await self._pubsub.unsubscribe(keys.chat_frames(room_id))
        except RedisError:
            logger.warning("unsubscribing room %s failed", room_id)
        return True

    def enqueue(self, *, room_id: int, event: dict) -> None:
        """Queue an event (its seq already set) for the room's next frame."""
        self.pending.setdefault(room_id, []).append(event)
        self._wake.set()

    async def flush(self) -> None:
        """Publish one frame per room with this tick's events."""
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        async with self.chat_redis.pipeline(transaction=False) as pipe:
            for room_id, room_events in pending.items():
                frame = chat_events.batch_frame(_cap_danmaku(room_events))
                chat_publish(pipe, keys.chat_frames(room_id), frame)
            await pipe.execute()

    async def _tick(self) -> None:
        """Flush as soon as there is something to send, then at most once per tick: the first message
        after a quiet tick goes out at once, a busy room gets one frame per tick with all its events."""
        interval = settings.CHAT_TICK_MS / 1000
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            try:
                await self.flush()
            except Exception:  # the tick must outlive any one bad round, or the whole process goes silent
                logger.exception("chat tick could not publish")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _read(self) -> None:
        lost = False
        while True:
            try:
                # redis-py reconnects and subscribes again to every channel on the next read.
                message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if lost:
                    await self._refill()
                    lost = False
            except RedisError:
                logger.warning("chat pub/sub connection lost; retrying")
                lost = True
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            try:
                await self._deliver(message["channel"], message["data"])
            except Exception:  # one bad message must not stop delivery for every room of the process
                logger.exception("chat frame could not be delivered")

    async def _refill(self) -> None:
        """Back on pub/sub after losing it: the frames published meanwhile, and a tick that failed in
        the outage, never reached the local sockets, which would not know it (they resume only after a
        reconnect). So each local room gets its recent list again; clients drop repeats by id/seq."""
        room_ids = list(self.rooms)
        async with self.chat_redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.lrange(keys.chat_recent(room_id), 0, -1)
            recents = await pipe.execute()
        for room_id, raw in zip(room_ids, recents, strict=True):
            if not raw:
                continue
            try:
                frame = chat_events.batch_frame([json.loads(event) for event in raw])
                await self._deliver(keys.chat_frames(room_id), frame)
            except Exception:  # like a bad live frame: the other rooms are still refilled
                logger.exception("chat room %s could not be refilled", room_id)

    async def _deliver(self, channel: str, data: str) -> None:
        """Hand a frame to every local socket of its room. Frames are delivered one after another by the
        reader, so each socket still gets them in the order they were published."""
        if channel == keys.CHAT_CONTROL:
            self._control(json.loads(data))
            return
        room_id = keys.chat_frames_room(channel)
        if '"room_state"' in data:
            self.cache.pop(("live", room_id), None)
        metrics.chat_frame_delivered(frame=data, sockets=len(self.rooms.get(room_id, ())))
        sockets = list(self.rooms.get(room_id, ()))
        for start in range(0, len(sockets), FANOUT_SLICE):
            if start:
                await asyncio.sleep(0)
            for socket in sockets[start : start + FANOUT_SLICE]:
                socket.push(data)

    def _control(self, order: dict) -> None:
        user_id, room_id = order["close_user"], order.get("room_id")
        self.cache.pop(("ban", user_id, room_id), None)
        for rid, sockets in self.rooms.items():
            if room_id is not None and rid != room_id:
                continue
            for socket in list(sockets):
                if socket.user_id == user_id:
                    socket.kill(CLOSE_KICKED)


def _cap_danmaku(room_events: list[dict]) -> list[dict]:
    # Giant rooms stay readable: past the cap, danmaku still reach every client, marked for the chat list.
    shown = 0
    capped = []
    for event in room_events:
        if event["type"] == "danmaku":
            shown += 1
            if shown > settings.CHAT_DANMAKU_PER_TICK:
                event = {**event, "overflow": True}
        capped.append(event)
    return capped


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_current() -> Hub:
    """The hub of this process (of the running event loop: tests run one loop per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


def _with_seq(events: list[dict], last_seq: int) -> list[dict]:
    first = last_seq - len(events) + 1
    return [{**event, "seq": first + index} for index, event in enumerate(events)]


def room_events_publish(*, room_id: int, events: list[dict]) -> None:
    """Send events (viewers, room_state, delete...) to everyone in the room now, from sync code."""
    if not events:
        return
    redis = chat_redis_sync()
    numbered = _with_seq(events, redis.incrby(keys.chat_seq(room_id), len(events)))
    with redis.pipeline(transaction=True) as pipe:
        recent_append(pipe, room_id=room_id, events=numbered)
        chat_publish(pipe, keys.chat_frames(room_id), chat_events.batch_frame(numbered))
        pipe.execute()


async def room_events_publish_async(*, room_id: int, events: list[dict]) -> None:
    if not events:
        return
    redis = chat_redis_async()
    numbered = _with_seq(events, await redis.incrby(keys.chat_seq(room_id), len(events)))
    async with redis.pipeline(transaction=True) as pipe:
        recent_append(pipe, room_id=room_id, events=numbered)
        chat_publish(pipe, keys.chat_frames(room_id), chat_events.batch_frame(numbered))
        await pipe.execute()


def user_sockets_close(*, user_id: int, room_id: int | None = None) -> None:
    """Close the user's chat sockets in the room (every room when None) in every web process: a ban."""
    chat_publish(
        chat_redis_sync(), keys.CHAT_CONTROL, json.dumps({"close_user": user_id, "room_id": room_id})
    )
