"""Redis (cache, channel layer, presence, chat) and the chat archive's MongoDB."""

from streamlite.settings.base import env

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Django's cache backends live per request context under ASGI: without a pool shared by the process, each
# request would open its own Redis connection (streamlite.redis).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"pool_class": "streamlite.redis.ProcessConnectionPool"},
    }
}
# channels_redis waits for messages with a 5 s blocking pop, and redis-py's default socket timeout is
# also 5 s: an idle socket's read would time out inside channels and kill its consumer. Longer than the
# pop, still finite so a vanished Redis is noticed.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
    }
}

# Chat on a Redis Cluster (docs/operations.md, "Chat on a Redis Cluster"): a node of the cluster, e.g.
# redis://10.0.0.5:7000. Each room's sequence, recent list, admission keys, lanes and channel then live on
# the shard of its hash tag; everything else stays on REDIS_URL. Unset: chat uses REDIS_URL.
CHAT_REDIS_CLUSTER_URL = env.str("CHAT_REDIS_CLUSTER_URL", default="")
# On a cluster, an accepted message is acknowledged once a replica of its shard has it (or after this
# long): a failover then loses no acknowledged message. 0 for a cluster without replicas.
CHAT_REDIS_REPLICA_WAIT_MS = env.int("CHAT_REDIS_REPLICA_WAIT_MS", default=200)

# redis.asyncio pool per web process (streamlite.redis); callers wait for a free connection instead of failing.
REDIS_ASYNC_MAX_CONNECTIONS = env.int("REDIS_ASYNC_MAX_CONNECTIONS", default=50)
# How often each process beats the viewers it holds (streamlite.presence); three missed beats and they go.
PRESENCE_INTERVAL_S = env.float("PRESENCE_INTERVAL_S", default=5.0)

MONGO_URL = env.str("MONGO_URL", default="mongodb://127.0.0.1:27017/")
MONGO_DB = env.str("MONGO_DB", default="streamlite")
