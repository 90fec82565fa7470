"""Who watches a room (streamlite.presence, scope ``room:<id>``: a viewer is a user or an anonymous
browser session, whatever number of sockets it has open), the room's live session as streams announced
it, and per live stream: peak, unique viewers, watch time and comment count, kept in Redis for streams
to write into the stream's record. Unique viewers are a set, exact (a HyperLogLog read two viewers whose
names hash alike as one), at some 100 bytes per viewer for as long as the stream lasts."""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from chat import events as chat_events
from rooms.models import Room
from streamlite.presence import member_count, members_fresh, presence_current
from streamlite.redis import keys, redis_sync

logger = logging.getLogger(__name__)

LIVE_CACHE_S = 30.0
# KEYS[1] peak; ARGV[1] count.
_PEAK_SCRIPT = """
if tonumber(ARGV[1]) > (tonumber(redis.call('GET', KEYS[1])) or 0) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0
"""
STATS = ("comments", "peak", "watch_ms", "watch_n")


def room_scope(room_id: int) -> str:
    return f"room:{room_id}"


def room_live_announce(*, room_id: int, stream_id: int, started_at) -> None:
    """Record the room's live stream (streams calls it on go-live and on reconcile)."""
    redis_sync().hset(
        keys.chat_live(room_id),
        mapping={"stream_id": stream_id, "started_ms": int(started_at.timestamp() * 1000)},
    )


def room_live_clear(*, room_id: int) -> None:
    redis_sync().delete(keys.chat_live(room_id))


def _live_started_ms(room_id: int) -> int | None:
    started = Room.objects.filter(pk=room_id).values_list("live_started_at", flat=True).first()
    return int(started.timestamp() * 1000) if started else None


async def room_live_stream(hub, room_id: int) -> tuple[int | None, int | None]:
    """The room's live stream id and its start (epoch ms), or (None, None); cached in the hub, dropped when
    a room_state event passes. Without streams' announcement (Redis emptied), the room row still gives
    the start, and the next reconcile announces the stream again."""

    async def load() -> tuple[int | None, int | None]:
        live = await hub.redis.hgetall(keys.chat_live(room_id))
        if live:
            return int(live["stream_id"]), int(live["started_ms"])
        return None, await database_sync_to_async(_live_started_ms)(room_id)

    return await hub.cached_load(("live", room_id), LIVE_CACHE_S, load)


def viewer_of(*, user, session_key: str | None, address: str) -> str:
    """The presence member of a socket: the user, else the browser session, else the address."""
    if user.is_authenticated:
        return f"u:{user.pk}"
    if session_key:
        return f"s:{session_key}"
    return f"a:{address}"


async def viewer_join(hub, *, room_id: int, viewer: str) -> int:
    """Count a socket of ``viewer`` in; returns the room's viewer count."""
    count = await presence_current().join(room_scope(room_id), viewer)
    stream_id, _ = await room_live_stream(hub, room_id)
    if stream_id is not None:
        async with hub.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(keys.chat_stream_stat(stream_id, "viewers"), viewer)
            pipe.sadd(keys.CHAT_STATS_STREAMS, stream_id)
            pipe.eval(_PEAK_SCRIPT, 1, keys.chat_stream_stat(stream_id, "peak"), count)
            await pipe.execute()
    return count


async def viewer_leave(hub, *, room_id: int, viewer: str, joined_at: float, room_left: bool) -> None:
    """Count a socket out; ``room_left``: it was the room's last socket in this process."""
    await presence_current().leave(room_scope(room_id), viewer)
    stream_id, _ = await room_live_stream(hub, room_id)
    if stream_id is not None:
        async with hub.redis.pipeline(transaction=False) as pipe:
            pipe.incrby(
                keys.chat_stream_stat(stream_id, "watch_ms"), int((time.monotonic() - joined_at) * 1000)
            )
            pipe.incr(keys.chat_stream_stat(stream_id, "watch_n"))
            await pipe.execute()
    if room_left:
        # No round of this process publishes the room any more: settle its count now.
        await viewers_publish_if_changed(hub, room_id=room_id, exclusive=False)


def room_viewers_read(*, room_id: int) -> tuple[list[int], int]:
    """(ids of the signed-in viewers, number of anonymous viewers) of the room right now."""
    user_ids, anonymous = [], 0
    for member in members_fresh(room_scope(room_id)):
        if member.startswith("u:"):
            user_ids.append(int(member[2:]))
        else:
            anonymous += 1
    return sorted(user_ids), anonymous


def _viewer_count_save(room_id: int, count: int) -> None:
    Room.objects.filter(pk=room_id).exclude(viewer_count=count).update(viewer_count=count)


async def viewers_publish_if_changed(hub, *, room_id: int, exclusive: bool = True) -> None:
    """Publish the room's viewer count and store it on the room when it changed. ``exclusive``: only one
    process per interval does it (whoever takes the short lock), so N processes don't publish N times."""
    from chat.hub import room_events_publish_async

    interval_ms = int(settings.PRESENCE_INTERVAL_S * 1000)
    lock = keys.chat_viewers_lock(room_id)
    if exclusive and not await hub.redis.set(lock, 1, nx=True, px=max(1, interval_ms * 9 // 10)):
        return
    count = await member_count(room_scope(room_id))
    previous = await hub.redis.getset(keys.chat_viewers_last(room_id), count)
    if previous is not None and int(previous) == count:
        return
    await room_events_publish_async(room_id=room_id, events=[chat_events.viewers_event(count=count)])
    await database_sync_to_async(_viewer_count_save)(room_id, count)
    stream_id, _ = await room_live_stream(hub, room_id)
    if stream_id is not None:
        await hub.redis.eval(_PEAK_SCRIPT, 1, keys.chat_stream_stat(stream_id, "peak"), count)


async def presence_loop(hub) -> None:
    """Every interval, the rooms this process holds publish their count if it changed (the presence
    module beats the viewers themselves)."""
    while True:
        await asyncio.sleep(settings.PRESENCE_INTERVAL_S)
        try:
            for room_id in list(hub.rooms):
                await viewers_publish_if_changed(hub, room_id=room_id)
        except RedisError:
            logger.warning("chat viewer counts not published; the next round retries")


# comment_count(key of the stream's comment count, key of the streams counted, stream id): the accept
# path's script (chat.pipeline) runs it for every message it takes in a live room.
COMMENT_COUNT_LUA = """
local function comment_count(count, streams, stream_id)
  redis.call('INCR', count)
  redis.call('SADD', streams, stream_id)
end
"""


def comment_count_keys(stream_id: int) -> list[str]:
    """The keys of ``comment_count`` for the stream."""
    return [keys.chat_stream_stat(stream_id, "comments"), keys.CHAT_STATS_STREAMS]


def stream_stats_tracked() -> list[int]:
    return [int(member) for member in redis_sync().smembers(keys.CHAT_STATS_STREAMS)]


def stream_stats_read(stream_id: int) -> dict[str, int]:
    """The chat's counts of one stream: comments, peak, watch_ms, watch_n and unique viewers."""
    redis = redis_sync()
    values = redis.mget([keys.chat_stream_stat(stream_id, stat) for stat in STATS])
    stats = {stat: int(value or 0) for stat, value in zip(STATS, values, strict=True)}
    stats["unique"] = redis.scard(keys.chat_stream_stat(stream_id, "viewers"))
    return stats


def stream_stats_forget(stream_id: int) -> None:
    redis = redis_sync()
    redis.srem(keys.CHAT_STATS_STREAMS, stream_id)
    # "unique" held the HyperLogLog of streams counted before the set.
    redis.delete(*(keys.chat_stream_stat(stream_id, stat) for stat in (*STATS, "viewers", "unique")))
