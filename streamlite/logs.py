"""One log format for the web and the worker: JSON lines (LOG_FORMAT=json, the default) or plain text.

Each record carries what it concerns, bound in context variables: the request id (set by
streamlite.middleware for every HTTP request), the stream and room (bound where a stream starts or ends),
and in the worker the Celery task's id and name. Context variables follow asyncio tasks and asgiref's
thread hops, so a value bound in a sync view is still seen by the middleware that logs the request."""

import logging
import random
import re
from contextvars import ContextVar

from celery._state import get_current_task
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_context: ContextVar[dict | None] = ContextVar("log_context", default=None)

# An incoming X-Request-ID is kept only when it looks like an id (a load balancer's or a client's), so a
# header cannot smuggle line breaks or a novel into the logs.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id_from(header: str | None) -> str:
    if header and REQUEST_ID_RE.fullmatch(header):
        return header
    # Only tells log lines apart, so it need not be unpredictable: no system call per request as uuid4's.
    return f"{random.getrandbits(128):032x}"  # noqa: S311


def log_context_bind(**values) -> None:
    """Add fields (request_id, stream_id, room_id...) to every record logged from this context on."""
    _context.set({**(_context.get() or {}), **values})


def log_context_value(key: str):
    return (_context.get() or {}).get(key)


def log_context_set(values: dict | None):
    """Replace the whole context; returns the token for ``log_context_reset``."""
    return _context.set(values)


def log_context_reset(token) -> None:
    _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the bound context and the running Celery task onto each record (installed on the handler,
    so records of every logger get them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        # django.request logs a failed response after the middleware has left the request's context.
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        task = get_current_task()
        if task is not None and task.request.id is not None:
            record.task_id = task.request.id
            record.task_name = task.name
        return True


# Record attributes never written: Django's "request" (its repr has the query string, where the RTMP
# hooks carry their secret) and uvicorn's "color_message" (the message again, with terminal colours).
OMITTED_ATTRS = [*RESERVED_ATTRS, "request", "color_message"]


def json_formatter() -> logging.Formatter:
    """timestamp (UTC, ISO 8601), level, logger, message, then every field of the context."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=OMITTED_ATTRS,
        timestamp=True,
        json_ensure_ascii=False,
    )
