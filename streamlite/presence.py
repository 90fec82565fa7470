"""Who is connected, shared by every web process through Redis: one implementation for room viewers
(chat sockets) and online users (notification sockets).

A scope (a room, the notification sockets) keeps a sorted set of members, each a viewer rather than a
socket (a user, or an anonymous browser session), scored with its last heartbeat, beside a hash of how
many connections each member has open. Six tabs of one viewer count once. Every process beats the
members it holds; a process that dies stops beating, so its members go stale and are pruned, whatever
their connection count says."""

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from redis.exceptions import RedisError

from streamlite.redis import keys, redis_async, redis_sync

logger = logging.getLogger(__name__)

# KEYS[1] members, KEYS[2] refs; ARGV[1] member. The last connection of a member takes it out at once.
_LEAVE = """
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return left
"""
# KEYS[1] members, KEYS[2] refs; ARGV[1] stale before (ms). Returns the fresh member count.
_PRUNE_COUNT = """
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('HDEL', KEYS[2], unpack(stale))
end
return redis.call('ZCARD', KEYS[1])
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def stale_before_ms() -> int:
    return _now_ms() - int(3 * settings.PRESENCE_INTERVAL_S * 1000)


class Presence:
    """The members this process holds in each scope, and their beat. One per process and event loop."""

    def __init__(self) -> None:
        self.held: dict[str, Counter] = {}
        self._beat: asyncio.Task | None = None

    async def join(self, scope: str, member: str) -> int:
        """Count a connection of ``member`` in; returns the scope's member count."""
        self._beat_start()
        self.held.setdefault(scope, Counter())[member] += 1
        redis = redis_async()
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(keys.presence_refs(scope), member, 1)
            pipe.zadd(keys.presence(scope), {member: _now_ms()})
            pipe.eval(_PRUNE_COUNT, 2, keys.presence(scope), keys.presence_refs(scope), stale_before_ms())
            *_, count = await pipe.execute()
        return count

    async def leave(self, scope: str, member: str) -> bool:
        """Count a connection out; True when this process held the member's last connection here."""
        held = self.held.get(scope)
        last_here = False
        if held is not None:
            held[member] -= 1
            if held[member] <= 0:
                del held[member]
                last_here = True
            if not held:
                del self.held[scope]
        await redis_async().eval(_LEAVE, 2, keys.presence(scope), keys.presence_refs(scope), member)
        return last_here

    def holds(self, scope: str) -> bool:
        return bool(self.held.get(scope))

    async def beat(self) -> None:
        now = _now_ms()
        async with redis_async().pipeline(transaction=False) as pipe:
            for scope, members in self.held.items():
                if members:
                    pipe.zadd(keys.presence(scope), dict.fromkeys(members, now))
            await pipe.execute()

    def _beat_start(self) -> None:
        if self._beat is None or self._beat.done():
            self._beat = asyncio.create_task(self._beat_loop())

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.PRESENCE_INTERVAL_S)
            try:
                await self.beat()
            except RedisError:
                logger.warning("presence beat failed; the next one retries")


_presences: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Presence]" = weakref.WeakKeyDictionary()


def presence_current() -> Presence:
    loop = asyncio.get_running_loop()
    presence = _presences.get(loop)
    if presence is None:
        presence = _presences[loop] = Presence()
    return presence


async def member_count(scope: str) -> int:
    """Members of the scope with a fresh beat (stale ones are pruned on the way)."""
    return await redis_async().eval(
        _PRUNE_COUNT, 2, keys.presence(scope), keys.presence_refs(scope), stale_before_ms()
    )


def member_counts(scopes: list[str]) -> list[int]:
    """Fresh member counts of several scopes in one round trip (read-only, for scrapes)."""
    since = stale_before_ms()
    with redis_sync().pipeline(transaction=False) as pipe:
        for scope in scopes:
            pipe.zcount(keys.presence(scope), since, "+inf")
        return pipe.execute()


def members_present(scope: str, members: Iterable[str]) -> list[str]:
    """The given members that have a fresh beat in the scope; one round trip however many are asked."""
    asked = list(members)
    if not asked:
        return []
    since = stale_before_ms()
    scores = redis_sync().zmscore(keys.presence(scope), asked)
    return [
        member for member, score in zip(asked, scores, strict=True) if score is not None and score >= since
    ]


def members_fresh(scope: str) -> list[str]:
    """Every member of the scope with a fresh beat."""
    return redis_sync().zrangebyscore(keys.presence(scope), stale_before_ms(), "+inf")
