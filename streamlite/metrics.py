"""Prometheus counters counted in the process that sees the event (chat messages accepted, chat events
delivered to sockets, HTTP requests by route) and Celery task failures counted in Redis. With several
processes per node set PROMETHEUS_MULTIPROC_DIR to an empty folder they share; streamlite.metrics_view
serves them with the values read from the shared stores at scrape time."""

import logging

import redis
from prometheus_client import Counter, Histogram

from streamlite.redis import redis_sync

logger = logging.getLogger(__name__)


CHAT_MESSAGES_ACCEPTED = Counter(
    "streamlite_chat_messages_accepted", "Chat and danmaku messages accepted (acknowledged to the sender)."
)
CHAT_EVENTS_DELIVERED = Counter(
    "streamlite_chat_events_delivered", "Chat events written to sockets (sockets x events of each frame)."
)
HTTP_REQUEST_SECONDS = Histogram(
    "streamlite_http_request_duration_seconds",
    "Time from the first middleware to the response, by route name and method.",
    ["route", "method"],
)
HTTP_RESPONSES = Counter(
    "streamlite_http_responses",
    "HTTP responses by route name, method and status class.",
    ["route", "method", "status"],
)


def request_observed(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(route, method).observe(seconds)
    HTTP_RESPONSES.labels(route, method, f"{status // 100}xx").inc()


def chat_frame_delivered(*, frame: str, sockets: int) -> None:
    """Count a room frame written to ``sockets`` local sockets. Every event of a batch frame carries its
    ``"seq":`` key once (compact JSON; a quote inside user text is escaped), so counting it is enough and
    far cheaper than parsing the frame again."""
    if sockets:
        CHAT_EVENTS_DELIVERED.inc(sockets * frame.count('"seq":'))


def task_event_count(*, key: str, task_name: str) -> None:
    """Count a task's failure or retry in Redis (``key``: one of keys.METRICS_TASK_*)."""
    try:
        redis_sync().hincrby(key, task_name, 1)
    except redis.RedisError:
        logger.warning("could not count an event of task %s in %s", task_name, key)
