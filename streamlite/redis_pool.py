"""Redis connection pools shared by every request of a process."""

import threading

import redis


class ProcessConnectionPool(redis.ConnectionPool):
    """One pool per Redis URL and process, for Django's cache (CACHES OPTIONS pool_class).

    Under ASGI Django keeps a cache backend per request context, and each backend built its own pool:
    every request opened a new Redis connection (a TCP connect, and redis-py's client setup) and
    dropped it at the end. Fork-safe: redis-py resets a pool it finds in a child process."""

    _shared: dict[tuple[str, str], "ProcessConnectionPool"] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "ProcessConnectionPool":
        key = (url, repr(sorted(kwargs.items())))
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **kwargs)
            return cls._shared[key]
