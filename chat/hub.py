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
from chat.wire import Wire, frame_bytes
from streamlite import metrics
from streamlite.gc_tuning import gc_tune
from streamlite.redis import (
    chat_cluster,
    chat_publish,
    chat_pubsub,
    chat_redis_async,
    chat_redis_sync,
    keys,
    redis_async,
)

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
# Events for the sender alone: they carry the seq of the message they answer but are not the room's.
SENDER_ONLY = frozenset({"ack", "error"})
# How long a resend is answered with the first ack rather than taken again.
DEDUPE_TTL_S = 600


# Numbering, keeping and publishing a room's events is one script, so Redis publishes them in the order of
# their seq and every hub hands them on in that order: a socket can then drop what it already has by seq.
# room_publish(keys {room seq, recent list, frames channel[, key to keep the ack under]}, recent list
# length, ack TTL s, the ack as JSON without its closing brace (or ""), items {per event its type, "1" when
# resumable, its JSON without its closing brace}). The message on the channel: "first last type,type...\n"
# then the events, comma-separated. Returns the first seq. The accept path's script calls it too.
PUBLISH_LUA = """
local function room_publish(keys, recent_count, ack_ttl, ack_open, items)
  local n = #items / 3
  local last = redis.call('INCRBY', keys[1], n)
  local first = last - n + 1
  local types, events = {}, {}
  for i = 1, n do
    local event = items[3 * i] .. ',"seq":' .. (first + i - 1) .. '}'
    types[i], events[i] = items[3 * i - 2], event
    if items[3 * i - 1] == '1' then redis.call('RPUSH', keys[2], event) end
  end
  redis.call('LTRIM', keys[2], -tonumber(recent_count), -1)
  redis.call('PUBLISH', keys[3], first .. ' ' .. last .. ' ' .. table.concat(types, ',') .. '\\n' .. table.concat(events, ','))
  if keys[4] then redis.call('SET', keys[4], ack_open .. ',"seq":' .. first .. '}', 'EX', tonumber(ack_ttl)) end
  return first
end
"""
PUBLISH_SCRIPT = PUBLISH_LUA + "return room_publish(KEYS, ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, 4)})"


def for_cluster(script: str) -> str:
    """A script that publishes on a room's shard channel (a Redis Cluster: its name carries the room's tag)."""
    return script.replace("'PUBLISH'", "'SPUBLISH'")


SHARDED_PUBLISH_SCRIPT = for_cluster(PUBLISH_SCRIPT)


def open_json(value: dict) -> str:
    """``value`` as compact JSON without its closing brace, for the script to add the seq."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))[:-1]


def publish_call(
    pipe, *, room_id: int, events: list[dict], ack: dict | None = None, ack_key: str = ""
) -> None:
    """Queue on a Redis pipeline (sync or async) the numbering, keeping and publishing of ``events`` (no
    seq yet); with ``ack_key``, ``ack`` is kept there with the first seq (a resend is answered with it)."""
    args = [settings.CHAT_RECENT_COUNT, DEDUPE_TTL_S, open_json(ack) if ack_key else ""]
    for event in events:
        args += [event["type"], "1" if event["type"] in RESUMABLE else "", open_json(event)]
    room_keys = [keys.chat_seq(room_id), keys.chat_recent(room_id), keys.chat_frames(room_id)]
    script = SHARDED_PUBLISH_SCRIPT if chat_cluster() else PUBLISH_SCRIPT
    pipe.eval(script, len(room_keys) + bool(ack_key), *room_keys, *([ack_key] if ack_key else []), *args)


def published_events(data: str) -> list[dict]:
    """The events of a message on a room's frames channel (see PUBLISH_SCRIPT)."""
    return json.loads("[" + data.split("\n", 1)[1] + "]")


# What the hub received of a room in one message: first seq, last seq, the events' types, their JSON.
Part = tuple[int, int, list[str], str]


class Frame:
    """What a socket is sent: the text, written unchanged to every socket of the room, and the range of
    room seqs in it, so a socket that already has some of them is sent only the rest."""

    __slots__ = ("text", "first", "last", "resume", "_events", "_bytes")

    def __init__(self, text: str, first: int = 0, last: int = 0, *, events=None, resume: bool = False):
        self.text, self.first, self.last, self.resume, self._events = text, first, last, resume, events
        self._bytes: bytes | None = None

    @classmethod
    def of(cls, events: list[dict], *, resume: bool = False) -> "Frame":
        """A frame built here (a join batch, an answer); acks and errors are outside the room's sequence."""
        seqs = [e["seq"] for e in events if "seq" in e and e["type"] not in SENDER_ONLY]
        return cls(
            chat_events.batch_frame(events), min(seqs, default=0), max(seqs, default=0),
            events=events, resume=resume and bool(seqs),
        )  # fmt: skip

    def events(self) -> list[dict]:
        if self._events is None:
            self._events = json.loads(self.text)["events"]
        return self._events

    def wire(self) -> bytes:
        """The text as a websocket frame, built once for every socket of the room."""
        if self._bytes is None:
            self._bytes = frame_bytes(self.text)
        return self._bytes

    def text_for(self, socket: "Socket") -> str | None:
        """The frame as ``socket`` must get it, None when it has every event already."""
        if not self.last or self.first > socket.last_seq and not self.resume:
            return self.text
        kept = [event for event in self.events() if socket.wants(event, resume=self.resume)]
        return chat_events.batch_frame(kept) if kept else None


class Socket:
    """One websocket as the hub sees it: frames queue up and a writer task of its own sends them, so a
    slow client only fills its own queue; when that is full the socket is closed, never waited for.

    Each room event reaches the socket at most once: the writer remembers the last room seq it sent
    (frames come in seq order, the join batch first) and leaves out what a later frame repeats."""

    def __init__(
        self,
        *,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        user_id: int | None,
        limit: int | None = None,
        held: bool = False,
        wire: Wire | None = None,
    ):
        self.id = uuid4().hex
        self.user_id = user_id
        self.joined_at = time.monotonic()
        self._send = send
        self._close = close
        # Frames go straight to the transport when the server allows it (chat.wire), else through send.
        self._wire = wire
        self._sending = False
        self._limit = limit or settings.CHAT_SOCKET_QUEUE_FRAMES
        self._frames: deque[Frame] = deque()
        # A bare future rather than an asyncio.Event: a fan-out wakes every socket of the room each frame.
        self._waiter: asyncio.Future | None = None
        self.closed = False
        self.last_seq = 0
        # The join batch leaves out the deletions and pin changes it covers: a resume may still send those.
        self._join_seq = 0
        self._writer = None if held else asyncio.create_task(self._write())

    def open(self, join: Frame) -> None:
        """Start writing a held socket, the join batch first: frames queued meanwhile follow, without what
        the join batch already has."""
        self._join_seq = join.last
        self._frames.appendleft(join)
        if not self.closed and self._writer is None:
            self._writer = asyncio.create_task(self._write())

    def wants(self, event: dict, *, resume: bool) -> bool:
        seq = event.get("seq")
        if seq is None or event["type"] in SENDER_ONLY or seq > self.last_seq:
            return True
        return resume and seq <= self._join_seq and event["type"] not in MESSAGE_TYPES

    def push(self, frame: Frame | str) -> None:
        if self.closed:
            return
        frame = frame if isinstance(frame, Frame) else Frame(frame)
        idle = self._writer is not None and not self._frames and not self._sending
        if self._wire is not None and idle and self._write_now(frame):
            return
        if len(self._frames) >= self._limit:
            logger.info("closing a slow chat socket (%d frames queued)", len(self._frames))
            self.kill(CLOSE_SLOW)
            return
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
        if self._writer is not None:
            self._writer.cancel()

    def _write_now(self, frame: Frame) -> bool:
        """Write ``frame`` to the transport at once; False when it must wait its turn through send."""
        text = frame.text_for(self)
        if text is not None and not self._wire.write(
            frame.wire() if text is frame.text else frame_bytes(text)
        ):
            return False
        self._sent(frame)
        return True

    def _sent(self, frame: Frame) -> None:
        if frame.last > self.last_seq:
            self.last_seq = frame.last
        if frame.resume:
            self._join_seq = 0  # what it left out is sent now

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._frames:
                frame = self._frames.popleft()
                if self._wire is not None and self._write_now(frame):
                    continue
                text = frame.text_for(self)
                self._sent(frame)
                if text is not None:
                    self._sending = True
                    try:
                        await self._send(text)
                    finally:
                        self._sending = False
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
        # Per room, what came from Redis since the last frame: (first seq, last seq, types, events' JSON).
        self.incoming: dict[int, list[Part]] = {}
        # Per room, the last seq received, and what is held back while a gap before it is filled.
        self.seen: dict[int, int] = {}
        self.filling: dict[int, list[Part]] = {}
        # Short in-process caches of what every message needs (rules, bans, the live stream's start).
        self.cache: dict[tuple, tuple[float, object]] = {}
        self._loading: dict[tuple, asyncio.Future] = {}
        self._scripts: dict[tuple[str, bool], object] = {}
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

    async def cached_load(self, key: tuple, ttl_s: float, load: Callable[[], Awaitable]):
        """``key``'s value from the process cache, else from ``load()``, run once for every message that
        asks meanwhile: when an entry expires under a busy room, hundreds of messages would each start
        the same query in the thread pool and queue behind each other."""
        hit = self.cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
        task = self._loading.get(key)
        if task is None:
            task = self._loading[key] = asyncio.ensure_future(self._load(key, load))
        return await asyncio.shield(task)

    async def _load(self, key: tuple, load: Callable[[], Awaitable]):
        try:
            value = await load()
            if self._loading.get(key) is asyncio.current_task():  # not dropped meanwhile (a ban)
                self.cache[key] = (time.monotonic(), value)
            return value
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]

    def script(self, text: str, *, site: bool = False):
        """A Lua script on the rooms' Redis (``site``: the site's), registered once per process: called
        by its SHA, loaded again when Redis no longer has it."""
        script = self._scripts.get((text, site))
        if script is None:
            client = self.redis if site else self.chat_redis
            script = self._scripts[(text, site)] = client.register_script(text)
        return script

    def cache_drop(self, key: tuple) -> None:
        self.cache.pop(key, None)
        self._loading.pop(key, None)

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
        self.seen.pop(room_id, None)
        try:
            await self._pubsub.unsubscribe(keys.chat_frames(room_id))
        # A shard that just died may fail its closed connection any way (uvloop's RuntimeError).
        except Exception:
            logger.warning("unsubscribing room %s failed", room_id, exc_info=True)
        return True

    async def flush(self) -> None:
        """Hand each room's events that came since the last tick to its local sockets, as one frame."""
        if not self.incoming:
            return
        incoming, self.incoming = self.incoming, {}
        for room_id, parts in incoming.items():
            frame = _frame_build(parts)
            sockets = list(self.rooms.get(room_id, ()))
            metrics.chat_frame_delivered(frame=frame.text, sockets=len(sockets))
            for start in range(0, len(sockets), FANOUT_SLICE):
                if start:
                    await asyncio.sleep(0)
                for socket in sockets[start : start + FANOUT_SLICE]:
                    socket.push(frame)

    async def _tick(self) -> None:
        """Deliver as soon as there is something to send, then at most once per tick: the first message
        after a quiet tick goes out at once, a busy room gets one frame per tick with all its events."""
        interval = settings.CHAT_TICK_MS / 1000
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            try:
                await self.flush()
            except Exception:  # the tick must outlive any one bad round, or the whole process goes silent
                logger.exception("chat tick could not deliver")
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
                self._receive(message["channel"], message["data"])
            except Exception:  # one bad message must not stop delivery for every room of the process
                logger.exception("chat events could not be received")

    def _receive(self, channel: str, data: str) -> None:
        if channel == keys.CHAT_CONTROL:
            self._control(json.loads(data))
            return
        room_id = keys.chat_frames_room(channel)
        header, body = data.split("\n", 1)
        first, last, types = header.split(" ", 2)
        kinds = types.split(",")
        if "room_state" in kinds:
            self.cache_drop(("live", room_id))
        self._take(room_id, (int(first), int(last), kinds, body))

    def _take(self, room_id: int, part: "Part") -> None:
        """Queue a part for the room's next frame, in seq order: a gap before it (a frame lost with the
        pub/sub connection, a shard's failover) is filled from the recent list first, the part held."""
        held = self.filling.get(room_id)
        if held is not None:
            held.append(part)
            return
        seen = self.seen.get(room_id)
        if seen is not None and part[1] <= seen:
            return
        if seen is not None and part[0] > seen + 1:
            self._fill_start(room_id, after=seen, upto=part[0] - 1, held=[part])
            return
        self.seen[room_id] = part[1]
        self.incoming.setdefault(room_id, []).append(part)
        self._wake.set()

    def _fill_start(self, room_id: int, *, after: int, upto: int | None, held: list["Part"]) -> None:
        self.filling[room_id] = held
        task = asyncio.create_task(self._fill(room_id, after=after, upto=upto))
        task.add_done_callback(_log_failure)

    async def _fill(self, room_id: int, *, after: int, upto: int | None) -> None:
        """Bring the room's kept events after seq ``after`` (up to ``upto``, else the room's last seq) into
        its next frame, in seq order with the parts held meanwhile. Events not kept (viewers...) stay
        missing: the next join batch carries the present ones."""
        kept: list[Part] = []
        try:
            async with self.chat_redis.pipeline(transaction=False) as pipe:
                pipe.get(keys.chat_seq(room_id))
                pipe.lrange(keys.chat_recent(room_id), 0, -1)
                last, raw = await pipe.execute()
            upto = min(upto, int(last or 0)) if upto is not None else int(last or 0)
            for text in raw:
                event = json.loads(text)
                if after < event["seq"] <= upto:
                    kept.append((event["seq"], event["seq"], [event["type"]], text))
        except Exception:  # the parts held must go out whatever happened: the gap stays, nothing else is lost
            logger.warning("chat room %s: the events missed could not be read again", room_id, exc_info=True)
        finally:
            held = self.filling.pop(room_id, [])
        if room_id not in self.rooms:
            return
        filled = after if upto is None else max(after, upto)
        covered = {seq for part in held for seq in range(part[0], part[1] + 1)}
        parts = sorted([part for part in kept if part[0] not in covered] + held, key=lambda part: part[0])
        seen = after
        for index, part in enumerate(parts):
            if part[1] <= seen:
                continue
            if part[0] > max(seen, filled) + 1:  # a gap past what was filled: fill again
                self.seen[room_id] = max(seen, filled)
                for rest in parts[index:]:
                    self._take(room_id, rest)
                return
            seen = part[1]
            self.incoming.setdefault(room_id, []).append(part)
        self.seen[room_id] = max(seen, filled)
        self._wake.set()

    async def _refill(self) -> None:
        """Back on pub/sub after losing it: events published meanwhile never reached the local sockets, and
        no later frame may come to show the gap, so each local room is filled up to its last seq now."""
        for room_id in list(self.rooms):
            if room_id not in self.filling:
                self._fill_start(room_id, after=self.seen.get(room_id, 0), upto=None, held=[])

    def _control(self, order: dict) -> None:
        user_id, room_id = order["close_user"], order.get("room_id")
        kept = {*self.cache, *self._loading}
        for key in [key for key in kept if key[0] == "bans" and room_id in (None, key[1])]:
            self.cache_drop(key)
        for rid, sockets in self.rooms.items():
            if room_id is not None and rid != room_id:
                continue
            for socket in list(sockets):
                if socket.user_id == user_id:
                    socket.kill(CLOSE_KICKED)


def _frame_build(parts: list["Part"]) -> Frame:
    """One frame of a room's events as received, in seq order. Giant rooms stay readable: past the cap of
    danmaku per frame, danmaku still reach every client, marked for the chat list."""
    bodies, shown = [], 0
    for _first, _last, kinds, body in parts:
        if kinds == ["danmaku"]:  # messages are published one by one
            shown += 1
            if shown > settings.CHAT_DANMAKU_PER_TICK:
                body = body[:-1] + ',"overflow":true}'
        bodies.append(body)
    text = '{"type":"batch","events":[' + ",".join(bodies) + "]}"
    return Frame(text, parts[0][0], parts[-1][1])


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_current() -> Hub:
    """The hub of this process (of the running event loop: tests run one loop per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


def room_events_publish(*, room_id: int, events: list[dict]) -> None:
    """Send events (viewers, room_state, delete...) to everyone in the room now, from sync code."""
    if events:
        with chat_redis_sync().pipeline(transaction=False) as pipe:
            publish_call(pipe, room_id=room_id, events=events)
            pipe.execute()


async def room_events_publish_async(*, room_id: int, events: list[dict]) -> None:
    if events:
        async with chat_redis_async().pipeline(transaction=False) as pipe:
            publish_call(pipe, room_id=room_id, events=events)
            await pipe.execute()


def user_sockets_close(*, user_id: int, room_id: int | None = None) -> None:
    """Close the user's chat sockets in the room (every room when None) in every web process: a ban."""
    chat_publish(
        chat_redis_sync(), keys.CHAT_CONTROL, json.dumps({"close_user": user_id, "room_id": room_id})
    )
