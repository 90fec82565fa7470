import logging
import os
import socket
from contextlib import suppress
from functools import cache

from celery import shared_task
from pymongo.errors import PyMongoError
from redis.exceptions import LockNotOwnedError

from chat import levels, services
from chat.archive import archive_indexes_ensure, outbox_drain
from streamlite.redis import keys, redis_sync

logger = logging.getLogger(__name__)

# Beat runs the flush every second; inside, it keeps flushing while there is work, for up to this long.
DRAIN_SECONDS = 5.0


@cache
def _indexes_ensured() -> None:
    archive_indexes_ensure()


def outbox_consumer_name() -> str:
    # One name per worker process: its unacknowledged entries are retried by itself, and claimed by
    # the others only once it has been idle (dead) for a while.
    return f"{socket.gethostname()}-{os.getpid()}"


@shared_task(ignore_result=True)
def chat_outbox_flush() -> int:
    # One flush at a time across workers: a second one would add little (MongoDB takes the batches) and
    # would hold another worker slot the other tasks need. The lock expires if its holder dies.
    lock = redis_sync().lock(keys.CHAT_OUTBOX_LOCK, timeout=DRAIN_SECONDS * 6, blocking=False)
    if not lock.acquire():
        return 0
    try:
        _indexes_ensured()
        return outbox_drain(consumer=outbox_consumer_name(), seconds=DRAIN_SECONDS)
    except PyMongoError:
        # MongoDB down: the entries stay in the outbox (pending for this consumer) and the next beat
        # retries them; chat itself goes on.
        logger.warning("chat archive: MongoDB unavailable, outbox kept for the next flush", exc_info=True)
        return 0
    finally:
        with suppress(LockNotOwnedError):  # held past its timeout: someone else's now
            lock.release()


@shared_task(ignore_result=True)
def chat_emote_uses_flush() -> int:
    return services.emote_uses_flush()


@shared_task(ignore_result=True)
def chat_levels_update() -> int:
    return levels.levels_update()
