"""The synchronous redis-py client of chat code outside the consumers (services, selectors, Celery tasks)."""

from functools import cache

import redis
from django.conf import settings


@cache
def chat_redis() -> redis.Redis:
    # One pool per process; decode_responses so stream fields and cached JSON come back as str.
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True, health_check_interval=30)
