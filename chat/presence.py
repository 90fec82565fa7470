"""Who watches a room, counted across web processes in Redis: each socket is a member of the room's sorted
set scored with its last heartbeat (the hub beats every few seconds for its sockets), so a process that
died stops counting once its entries go stale. Per live stream: peak, unique viewers (HyperLogLog),
watch time and comment count, written into the stream's RoomRecord by a periodic task."""

import asyncio
import logging
import time

from celery import shared_task
from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from chat import events as chat_events
from chat.redis_sync import chat_redis
from rooms.models import Room
from streams.models import RoomRecord, Stream

logger = logging.getLogger(__name__)

STATS_STREAMS_KEY = "chat:stats:streams"
# KEYS[1] peak; ARGV[1] count.
_PEAK_SCRIPT = """
if tonumber(ARGV[1]) > (tonumber(redis.call('GET', KEYS[1])) or 0) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0
"""


def conns_key(room_id: int) -> str:
    return f"chat:room:{room_id}:conns"


def signed_in_key(room_id: int) -> str:
    """Hash of the room's signed-in sockets: socket id -> user id (the viewer list)."""
    return f"chat:room:{room_id}:users"


def stream_stat_key(stream_id: int, stat: str) -> str:
    return f"chat:stream:{stream_id}:{stat}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stale_ms() -> int:
    return int(3 * settings.CHAT_PRESENCE_INTERVAL_S * 1000)


def _live_stream_read(room_id: int) -> tuple[int | None, int | None]:
    stream = (
        Stream.objects.filter(room_id=room_id, status=Stream.Status.LIVE).values("pk", "started_at").first()
    )
    if stream is None:
        return None, None
    return stream["pk"], int(stream["started_at"].timestamp() * 1000)


async def room_live_stream(hub, room_id: int) -> tuple[int | None, int | None]:
    """The room's live stream id and its start (epoch ms), or (None, None); cached in the hub, dropped when
    a room_state event passes."""
    from chat.hub import LIVE_CACHE_S

    cached = hub.cached(("live", room_id), LIVE_CACHE_S)
    if cached is None:
        cached = await database_sync_to_async(_live_stream_read)(room_id)
        hub.cache_set(("live", room_id), cached)
    return cached


async def viewer_join(hub, *, room_id: int, socket, unique_key: str) -> int:
    """Count the socket in; returns the room's viewer count."""
    stream_id, _ = await room_live_stream(hub, room_id)
    now = _now_ms()
    async with hub.redis.pipeline(transaction=False) as pipe:
        pipe.zadd(conns_key(room_id), {socket.id: now})
        pipe.zremrangebyscore(conns_key(room_id), "-inf", now - _stale_ms())
        pipe.zcard(conns_key(room_id))
        if socket.user_id is not None:
            pipe.hset(signed_in_key(room_id), socket.id, socket.user_id)
        if stream_id is not None:
            pipe.pfadd(stream_stat_key(stream_id, "unique"), unique_key)
            pipe.sadd(STATS_STREAMS_KEY, stream_id)
        results = await pipe.execute()
    count = results[2]
    if stream_id is not None:
        await hub.redis.eval(_PEAK_SCRIPT, 1, stream_stat_key(stream_id, "peak"), count)
    return count


async def viewer_leave(hub, *, room_id: int, socket, last_here: bool) -> None:
    stream_id, _ = await room_live_stream(hub, room_id)
    async with hub.redis.pipeline(transaction=False) as pipe:
        pipe.zrem(conns_key(room_id), socket.id)
        if socket.user_id is not None:
            pipe.hdel(signed_in_key(room_id), socket.id)
        if stream_id is not None:
            pipe.incrby(
                stream_stat_key(stream_id, "watch_ms"), int((time.monotonic() - socket.joined_at) * 1000)
            )
            pipe.incr(stream_stat_key(stream_id, "watch_n"))
        await pipe.execute()
    if last_here:
        # No heartbeat of this process will count the room again: settle its count now.
        await viewers_publish_if_changed(hub, room_id=room_id, exclusive=False)


def room_viewers_read(*, room_id: int) -> tuple[list[int], int]:
    """(ids of the signed-in viewers, number of sockets without a user) of the room right now; entries a
    dead process left behind are skipped here and dropped."""
    redis = chat_redis()
    with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(conns_key(room_id), _now_ms() - _stale_ms(), "+inf")
        pipe.hgetall(signed_in_key(room_id))
        live, signed_in = pipe.execute()
    live = set(live)
    gone = [socket_id for socket_id in signed_in if socket_id not in live]
    if gone:
        redis.hdel(signed_in_key(room_id), *gone)
    user_ids = sorted({int(user_id) for socket_id, user_id in signed_in.items() if socket_id in live})
    anonymous = len(live - set(signed_in))
    return user_ids, anonymous


def _viewer_count_save(room_id: int, count: int) -> None:
    Room.objects.filter(pk=room_id).exclude(viewer_count=count).update(viewer_count=count)


async def viewers_publish_if_changed(hub, *, room_id: int, exclusive: bool = True) -> None:
    """Publish the room's viewer count and store it on the room when it changed. ``exclusive``: only one
    process per interval does it (whoever takes the short lock), so N processes don't publish N times."""
    from chat.hub import room_events_publish_async

    interval_ms = int(settings.CHAT_PRESENCE_INTERVAL_S * 1000)
    key = conns_key(room_id)
    if exclusive and not await hub.redis.set(f"{key}:lock", 1, nx=True, px=max(1, interval_ms * 9 // 10)):
        return
    async with hub.redis.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(key, "-inf", _now_ms() - _stale_ms())
        pipe.zcard(key)
        _, count = await pipe.execute()
    previous = await hub.redis.getset(f"{key}:last", count)
    if previous is not None and int(previous) == count:
        return
    await room_events_publish_async(room_id=room_id, events=[chat_events.viewers_event(count=count)])
    await database_sync_to_async(_viewer_count_save)(room_id, count)
    stream_id, _ = await room_live_stream(hub, room_id)
    if stream_id is not None:
        await hub.redis.eval(_PEAK_SCRIPT, 1, stream_stat_key(stream_id, "peak"), count)


async def presence_beat(hub) -> None:
    now = _now_ms()
    async with hub.redis.pipeline(transaction=False) as pipe:
        for room_id, sockets in hub.rooms.items():
            if sockets:
                pipe.zadd(conns_key(room_id), {socket.id: now for socket in sockets})
        await pipe.execute()
    for room_id in list(hub.rooms):
        await viewers_publish_if_changed(hub, room_id=room_id)


async def presence_loop(hub) -> None:
    while True:
        await asyncio.sleep(settings.CHAT_PRESENCE_INTERVAL_S)
        try:
            await presence_beat(hub)
        except RedisError:
            logger.warning("chat presence beat failed; next one retries")


def comment_counted(pipe, *, stream_id: int) -> None:
    """Add the counting of one accepted comment to a Redis pipeline."""
    pipe.incr(stream_stat_key(stream_id, "comments"))
    pipe.sadd(STATS_STREAMS_KEY, stream_id)


def room_stats_save() -> int:
    """Write the Redis counters of each tracked stream into its RoomRecord; an ended stream is written a
    last time and forgotten. Returns how many records were written."""
    redis = chat_redis()
    written = 0
    for member in redis.smembers(STATS_STREAMS_KEY):
        stream_id = int(member)
        keys = [stream_stat_key(stream_id, stat) for stat in ("comments", "peak", "watch_ms", "watch_n")]
        comments, peak, watch_ms, watch_n = (int(value or 0) for value in redis.mget(keys))
        unique = redis.pfcount(stream_stat_key(stream_id, "unique"))
        written += RoomRecord.objects.filter(stream_id=stream_id).update(
            total_comments=comments,
            peak_viewers=peak,
            unique_viewers=unique,
            avg_watch_seconds=watch_ms // 1000 // watch_n if watch_n else 0,
        )
        if not Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).exists():
            redis.srem(STATS_STREAMS_KEY, stream_id)
            redis.delete(*keys, stream_stat_key(stream_id, "unique"))
    return written


@shared_task(name="chat.presence.room_stats_flush")
def room_stats_flush() -> int:
    return room_stats_save()
