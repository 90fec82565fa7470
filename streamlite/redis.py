"""Redis for the whole site: the clients of this process and the name of every key written outside the
Django cache (the cache prefixes its own keys; the channel layer and Celery name theirs).

One synchronous client per process (services, selectors, tasks) and one asyncio client per event loop
(consumers, the chat hub): a redis.asyncio connection belongs to the loop that opened it."""

import asyncio
import weakref
from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings

# Short connect timeout: a web request, a scrape or a health check must not hang on a Redis outage.
_OPTIONS = {"decode_responses": True, "health_check_interval": 30, "socket_connect_timeout": 2}


@cache
def redis_sync() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, **_OPTIONS)


_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def redis_async() -> aioredis.Redis:
    """The asyncio client of the running event loop; callers wait for a free connection of its pool."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=settings.REDIS_ASYNC_MAX_CONNECTIONS, timeout=10, **_OPTIONS
        )
        client = _async_clients[loop] = aioredis.Redis(connection_pool=pool)
    return client


class ProcessConnectionPool(redis.ConnectionPool):
    """One pool per Redis URL and process for Django's cache (CACHES OPTIONS pool_class): under ASGI
    Django keeps a cache backend per request context, and each would otherwise open its own connection.
    Fork-safe: redis-py resets a pool it finds in a child process."""

    _shared: dict[tuple[str, str], "ProcessConnectionPool"] = {}

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "ProcessConnectionPool":
        key = (url, repr(sorted(kwargs.items())))
        # dict.setdefault is atomic under the GIL; a pool built and dropped in a race costs nothing.
        return cls._shared.get(key) or cls._shared.setdefault(key, super().from_url(url, **kwargs))


class keys:  # noqa: N801  (a namespace: keys.chat_seq(1) reads like the key it names)
    """Every raw Redis key and channel, in one place so that two modules never spell one differently."""

    # Chat: per room.
    @staticmethod
    def chat_seq(room_id: int) -> str:
        return f"chat:room:{room_id}:seq"

    @staticmethod
    def chat_recent(room_id: int) -> str:
        return f"chat:room:{room_id}:recent"

    @staticmethod
    def chat_frames(room_id: int) -> str:
        return f"chat:room:{room_id}:frames"

    @staticmethod
    def chat_frames_room(channel: str) -> int:
        """The room id of a chat_frames channel name."""
        return int(channel.split(":")[2])

    @staticmethod
    def chat_rules(room_id: int) -> str:
        return f"chat:room:{room_id}:rules"

    @staticmethod
    def chat_rate(room_id: int, user_id: int) -> str:
        return f"chat:room:{room_id}:rate:{user_id}"

    @staticmethod
    def chat_lanes(room_id: int, mode: str) -> str:
        return f"chat:room:{room_id}:lanes:{mode}"

    @staticmethod
    def chat_live(room_id: int) -> str:
        return f"chat:room:{room_id}:live"

    @staticmethod
    def chat_viewers_lock(room_id: int) -> str:
        return f"chat:room:{room_id}:viewers:lock"

    @staticmethod
    def chat_viewers_last(room_id: int) -> str:
        return f"chat:room:{room_id}:viewers:last"

    @staticmethod
    def chat_emotes(room_id: int) -> str:
        return f"chat:room:{room_id}:emotes"

    @staticmethod
    def chat_emote_uses(room_id: int) -> str:
        return f"chat:room:{room_id}:emote_uses"

    # Chat: per user, message and stream.
    @staticmethod
    def chat_dedupe(user_id: int, client_id: str) -> str:
        return f"chat:dedupe:{user_id}:{client_id}"

    @staticmethod
    def chat_deleted(message_id: int) -> str:
        return f"chat:deleted:{message_id}"

    @staticmethod
    def chat_stream_stat(stream_id: int, stat: str) -> str:
        return f"chat:stream:{stream_id}:{stat}"

    CHAT_CONTROL = "chat:control"
    CHAT_NEXT_ID = "chat:next_id"
    CHAT_OUTBOX = "chat:outbox"
    CHAT_OUTBOX_LOCK = "chat:outbox:flushing"
    CHAT_STATS_STREAMS = "chat:stats:streams"
    CHAT_EMOTES_SITE = "chat:emotes:site"
    CHAT_EMOTE_USE_ROOMS = "chat:emote_uses:rooms"

    # Levels (chat.levels): the chatting minutes counted per user, drained once a minute.
    @staticmethod
    def level_chat_marker(user_id: int) -> str:
        return f"level:chat_marker:{user_id}"

    LEVEL_CHAT_MINUTES = "level:chat_minutes"
    LEVEL_SAMPLED = "level:sampled"

    # Presence (streamlite.presence): who is connected, per scope.
    @staticmethod
    def presence(scope: str) -> str:
        return f"presence:{scope}"

    @staticmethod
    def presence_refs(scope: str) -> str:
        return f"presence:{scope}:refs"

    # Operations.
    METRICS_TASK_FAILURES = "metrics:celery:task_failures"
    METRICS_TASK_RETRIES = "metrics:celery:task_retries"
