"""GET /healthz for load balancers and probes: the database, Redis, MongoDB and the media storage, each
answered within HEALTHZ_TIMEOUT_S. 200 when all answer, else 503 naming the failing parts with a short
reason (the error's class: never a message that could carry an address or a credential)."""

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import cache
from pathlib import Path
from threading import Lock

import redis
from django.conf import settings
from django.core.files.storage import storages
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from pymongo import MongoClient

logger = logging.getLogger(__name__)

# A call can hang far longer than a probe waits (a pool waiting for a dead database, an S3 client
# retrying): checks run in threads and are waited for with a deadline. A check still running from an
# earlier probe is waited for again rather than started twice, so a hung service holds one thread.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthz")
_running: dict[str, Future] = {}
_running_lock = Lock()


def _database() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # Back to the pool: this thread's connection would otherwise stay checked out between probes.
        connections["default"].close()


def _redis() -> None:
    timeout = settings.HEALTHZ_TIMEOUT_S
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


@cache
def _mongo_client(url: str) -> MongoClient:
    timeout_ms = int(settings.HEALTHZ_TIMEOUT_S * 1000)
    return MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)


def _mongo() -> None:
    _mongo_client(settings.MONGO_URL).admin.command("ping")


class StorageNotWritable(Exception):
    pass


def _storage() -> None:
    storage = storages["default"]
    if hasattr(storage, "bucket_name"):  # S3: the cheapest call that proves the bucket and the keys work
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        return
    location = Path(storage.location)
    # The storage makes its folder at the first save anyway; a folder that cannot be made is the failure.
    location.mkdir(parents=True, exist_ok=True)
    if not os.access(location, os.W_OK | os.X_OK):
        raise StorageNotWritable()


CHECKS = {"database": _database, "redis": _redis, "mongo": _mongo, "storage": _storage}


def _started(name: str) -> Future:
    with _running_lock:
        future = _running.get(name)
        if future is None or future.done():
            future = _running[name] = _executor.submit(CHECKS[name])
        return future


def health_checks() -> dict[str, str]:
    """Each part's state: "ok", or "error: <reason>"."""
    futures = {name: _started(name) for name in CHECKS}
    wait(futures.values(), timeout=settings.HEALTHZ_TIMEOUT_S)
    results = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = "error: timeout"
        elif future.exception() is not None:
            error = future.exception()
            logger.warning("health check %s failed: %s: %s", name, type(error).__name__, error)
            results[name] = f"error: {type(error).__name__}"
        else:
            results[name] = "ok"
    return results


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_checks()
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
