"""Celery signal receivers of the worker (and of eager tasks in the web): logging left to Django, a fresh
log context per task, task failures and retries counted for /metrics. Imported by streamlite.celery, so
kept free of Django imports."""

from contextvars import Token

from celery import signals

from streamlite.logs import log_context_reset, log_context_set, log_context_value
from streamlite.redis import keys


@signals.setup_logging.connect
def _django_logging_kept(**kwargs) -> None:
    """Celery's worker and beat would replace the root handlers with their own format; a receiver of this
    signal tells them not to, so Django's LOGGING (configured at django.setup()) formats their records."""


# The context each running task replaced, by task id: a worker runs task after task in one context, and a
# stream bound by one must not tag the next; an eager task gives its caller's context back when it ends.
_outer_contexts: dict[str, Token] = {}


@signals.before_task_publish.connect
def _request_id_sent(headers=None, **kwargs) -> None:
    # A task enqueued while serving a request logs that request's id in the worker too.
    request_id = log_context_value("request_id")
    if request_id is not None and headers is not None:
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect
def _log_context_fresh(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, "request_id", None) or log_context_value("request_id")
    _outer_contexts[task_id] = log_context_set({"request_id": request_id} if request_id else None)


@signals.task_postrun.connect
def _log_context_restored(task_id=None, **kwargs) -> None:
    token = _outer_contexts.pop(task_id, None)
    if token is not None:
        log_context_reset(token)


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs) -> None:
    from streamlite.metrics import task_event_count

    task_event_count(key=keys.METRICS_TASK_FAILURES, task_name=sender.name)


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs) -> None:
    from streamlite.metrics import task_event_count

    task_event_count(key=keys.METRICS_TASK_RETRIES, task_name=sender.name)
