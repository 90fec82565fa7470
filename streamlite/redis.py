"""Redis for the whole site: the clients of this process and the name of every key written outside the
Django cache (the cache prefixes its own keys; the channel layer and Celery name theirs).

One synchronous client per process (services, selectors, tasks) and one asyncio client per event loop
(consumers, the chat hub): a redis.asyncio connection belongs to the loop that opened it.

Chat's rooms may live on a Redis Cluster of their own (CHAT_REDIS_CLUSTER_URL): the ``chat_redis_*``
clients, ``chat_publish`` and ``chat_pubsub`` reach there what every message touches, each room's
sequence, recent list, ids, dedupe, rate and lanes keys and its channel (plus the chat's control channel),
and reach the plain Redis otherwise. Every other key (caches, statistics, the outbox) stays on REDIS_URL."""

import asyncio
import contextlib
import logging
import weakref
from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

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


def chat_cluster() -> bool:
    return bool(settings.CHAT_REDIS_CLUSTER_URL)


@cache
def chat_redis_sync() -> redis.Redis | RedisCluster:
    """The synchronous client of chat's rooms: the cluster's, or the site's own client."""
    if not chat_cluster():
        return redis_sync()
    return RedisCluster.from_url(settings.CHAT_REDIS_CLUSTER_URL, **_OPTIONS)


_chat_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRedisCluster]" = (
    weakref.WeakKeyDictionary()
)


def chat_redis_async() -> aioredis.Redis | AsyncRedisCluster:
    """The asyncio client of chat's rooms for the running event loop: the cluster's, or redis_async()."""
    if not chat_cluster():
        return redis_async()
    loop = asyncio.get_running_loop()
    client = _chat_async_clients.get(loop)
    if client is None:
        client = _chat_async_clients[loop] = AsyncRedisCluster.from_url(
            settings.CHAT_REDIS_CLUSTER_URL, decode_responses=True, socket_connect_timeout=2
        )
    return client


def chat_publish(target, channel: str, message: str):
    """Queue (on a pipeline) or send a message to a chat channel: sharded on a cluster, so that it goes to
    the shard of the room's keys and only that shard's subscribers read it."""
    if chat_cluster():
        return target.spublish(channel, message)
    return target.publish(channel, message)


def chat_replica_wait(pipe, *, client: AsyncRedisCluster, key: str) -> bool:
    """On a cluster, queue at the end of a non-transactional pipeline a WAIT on the node of ``key``: the
    pipeline sends it on the connection of its writes, so its answer says whether a replica has them
    (and everything written before them on that shard). False when there is nothing to wait for."""
    if not chat_cluster() or settings.CHAT_REDIS_REPLICA_WAIT_MS <= 0:
        return False
    pipe.execute_command(
        "WAIT", 1, settings.CHAT_REDIS_REPLICA_WAIT_MS, target_nodes=client.get_node_from_key(key)
    )
    return True


def chat_pubsub(client: aioredis.Redis | AsyncRedisCluster):
    """The chat hub's subscriber: plain pub/sub on one Redis, ShardedPubSub on a cluster."""
    if isinstance(client, AsyncRedisCluster):
        return ShardedPubSub(client)
    return client.pubsub()


class ShardedPubSub:
    """SSUBSCRIBE on a Redis Cluster with the calls of a redis.asyncio PubSub that the chat hub makes
    (subscribe, unsubscribe, get_message, aclose).

    One connection per primary that owns a subscribed channel, each read by a task of its own into one
    queue. redis-py's ClusterPubSub reads its nodes' connections one after another, each waiting up to
    the timeout, so a frame of one shard would wait behind another shard's quiet read.

    When a shard's connection is lost (its primary died) or the shard drops a channel (its slot moved, a
    failover), the channels are subscribed again on the owner the refreshed cluster map names, retried
    until a replica is promoted. Frames published meanwhile never reached this process: the next
    get_message then raises once, as a plain PubSub does when it reconnects, so the hub refills its rooms
    from their recent lists."""

    RETRY_S = 0.25

    def __init__(self, cluster: AsyncRedisCluster):
        self.cluster = cluster
        self._channels: dict[str, str] = {}  # channel -> name of the node it is subscribed on
        self._nodes: dict[str, PubSub] = {}
        self._readers: dict[str, asyncio.Task] = {}
        self._messages: asyncio.Queue[dict] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._missed = False

    async def subscribe(self, *channels: str) -> None:
        async with self._lock:
            for channel in channels:
                await self._subscribe(channel)

    async def _subscribe(self, channel: str) -> None:
        if self.cluster._initialize:  # noqa: SLF001 (redis-py initializes lazily on the first command)
            await self.cluster.initialize()
        node = self.cluster.get_node_from_key(channel)
        pubsub = self._nodes.get(node.name)
        if pubsub is None:
            # The node's own connection settings (password, TLS...) as the cluster client learned them.
            pool = aioredis.ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
            pubsub = aioredis.Redis(connection_pool=pool).pubsub()
            await pubsub.ssubscribe(channel)
            self._nodes[node.name] = pubsub
            self._readers[node.name] = asyncio.create_task(self._read(node.name, pubsub))
        else:
            await pubsub.ssubscribe(channel)
        self._channels[channel] = node.name

    async def unsubscribe(self, *channels: str) -> None:
        async with self._lock:
            for channel in channels:
                name = self._channels.pop(channel, None)
                if name in self._nodes:
                    await self._nodes[name].sunsubscribe(channel)

    async def get_message(
        self, *, ignore_subscribe_messages: bool = True, timeout: float = 0.0
    ) -> dict | None:
        if self._missed:
            self._missed = False
            raise RedisConnectionError("a chat shard's subscriptions were moved; frames may be missing")
        try:
            return await asyncio.wait_for(self._messages.get(), timeout)
        except TimeoutError:
            return None

    async def aclose(self) -> None:
        for task in self._readers.values():
            task.cancel()
        await asyncio.gather(*self._readers.values(), return_exceptions=True)
        for pubsub in self._nodes.values():
            await pubsub.aclose()
        self._readers, self._nodes, self._channels = {}, {}, {}

    async def _read(self, name: str, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "smessage":
                    self._messages.put_nowait({"channel": message["channel"], "data": message["data"]})
                elif message["type"] == "sunsubscribe" and self._channels.get(message["channel"]) == name:
                    # Not asked for: the shard gave the channel's slot away.
                    await self._move([message["channel"]])
        # A dead primary's connection may fail any way: uvloop raises RuntimeError on a closed transport,
        # and a reader ended by it unseen would leave its rooms deaf for good.
        except Exception as error:
            logger.warning("chat shard %s lost (%r); subscribing its rooms again", name, error)
            await self._node_lost(name)

    async def _node_lost(self, name: str) -> None:
        async with self._lock:
            self._readers.pop(name, None)
            pubsub = self._nodes.pop(name, None)
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
        channels = [channel for channel, node in self._channels.items() if node == name]
        if channels:
            await self._move(channels)

    async def _move(self, channels: list[str]) -> None:
        """Subscribe ``channels`` on their present owners, once the cluster names one that answers."""
        while True:
            try:
                async with self._lock:
                    await self.cluster.nodes_manager.initialize()
                    for channel in channels:
                        if channel in self._channels:
                            await self._subscribe(channel)
                break
            except (RedisError, OSError):
                await asyncio.sleep(self.RETRY_S)
        self._missed = True


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

    # Chat: per room. The room id is the key's hash tag, so a room's keys and channel share one shard of a
    # cluster and may meet in one script or transaction there.
    @staticmethod
    def chat_seq(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:seq"

    @staticmethod
    def chat_recent(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:recent"

    @staticmethod
    def chat_frames(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:frames"

    @staticmethod
    def chat_frames_room(channel: str) -> int:
        """The room id of a chat_frames channel name."""
        return int(channel.split(":")[2].strip("{}"))

    @staticmethod
    def chat_rules(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:rules"

    @staticmethod
    def chat_rate(room_id: int, user_id: int) -> str:
        return f"chat:room:{{{room_id}}}:rate:{user_id}"

    @staticmethod
    def chat_lanes(room_id: int, mode: str) -> str:
        return f"chat:room:{{{room_id}}}:lanes:{mode}"

    @staticmethod
    def chat_live(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:live"

    @staticmethod
    def chat_viewers_lock(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:viewers:lock"

    @staticmethod
    def chat_viewers_last(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:viewers:last"

    @staticmethod
    def chat_emotes(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:emotes"

    @staticmethod
    def chat_emote_uses(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:emote_uses"

    @staticmethod
    def chat_ids(room_id: int) -> str:
        return f"chat:room:{{{room_id}}}:ids"

    @staticmethod
    def chat_dedupe(room_id: int, user_id: int, client_id: str) -> str:
        return f"chat:room:{{{room_id}}}:dedupe:{user_id}:{client_id}"

    # Chat: per message and stream.

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
