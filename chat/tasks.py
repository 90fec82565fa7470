import logging
import os
import socket
from functools import cache

from celery import shared_task
from pymongo.errors import PyMongoError

from chat.archive import archive_indexes_ensure, outbox_drain

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
    try:
        _indexes_ensured()
        return outbox_drain(consumer=outbox_consumer_name(), seconds=DRAIN_SECONDS)
    except PyMongoError:
        # MongoDB down: the entries stay in the outbox (pending for this consumer) and the next beat
        # retries them; chat itself goes on.
        logger.warning("chat archive: MongoDB unavailable, outbox kept for the next flush", exc_info=True)
        return 0
