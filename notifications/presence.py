"""Who has a notifications websocket open, kept in Redis so every web process and worker shares it.

A hash maps user id → number of open connections (several tabs, several devices): the user is online
while the count is above zero. A web process killed without closing its sockets leaves its counts
behind; that only costs pushes nobody receives, never a missed notification (the list keeps them).
"""

import asyncio
import weakref
from collections.abc import Iterable

import redis
import redis.asyncio as aioredis
from django.conf import settings

ONLINE_KEY = "notifications:online"

_sync_client: redis.Redis | None = None
# redis.asyncio connections belong to the event loop that opened them: one client per loop.
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(settings.REDIS_URL)
    return _sync_client


def _async_client() -> aioredis.Redis:
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = aioredis.Redis.from_url(settings.REDIS_URL)
    return client


async def connection_opened(*, user_id: int) -> None:
    await _async_client().hincrby(ONLINE_KEY, str(user_id), 1)


async def connection_closed(*, user_id: int) -> None:
    client = _async_client()
    if await client.hincrby(ONLINE_KEY, str(user_id), -1) <= 0:
        await client.hdel(ONLINE_KEY, str(user_id))


def online_among(user_ids: Iterable[int]) -> list[int]:
    """The given users that have a connection open; one Redis round trip however many are asked."""
    ids = list(user_ids)
    if not ids:
        return []
    counts = _client().hmget(ONLINE_KEY, [str(pk) for pk in ids])
    return [pk for pk, count in zip(ids, counts, strict=True) if count is not None and int(count) > 0]
