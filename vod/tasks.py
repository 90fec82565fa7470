import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils.translation import gettext as _

from streams.models import Stream
from vod import services

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, services.VodStorageError):
        return _("The video store could not be reached; retry later.")
    if isinstance(exc, SoftTimeLimitExceeded):
        return _("Processing took too long and was stopped.")
    return _("Processing failed unexpectedly.")


class VodProcessTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted, time limit, or a bug: the streamer sees why instead of an endless bar."""
        logger.error("vod_process for stream %s failed: %r", kwargs.get("stream_id"), exc)
        services.vod_fail_for_stream(stream_id=kwargs["stream_id"], reason=_failure_reason(exc))


# acks_late + reject_on_worker_lost: a worker killed mid-task leaves the message to be delivered again,
# and the idempotent service turns that second delivery into the one VOD.
@shared_task(
    base=VodProcessTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.VOD_PROCESS_SOFT_TIME_LIMIT_S,
    time_limit=settings.VOD_PROCESS_TIME_LIMIT_S,
    autoretry_for=(services.VodStorageError,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=MAX_RETRIES,
)
def vod_process(*, stream_id: int) -> None:
    stream = Stream.objects.select_related("room").filter(pk=stream_id).first()
    if stream is None:
        return
    services.vod_process(stream=stream)


class VodRungProcessTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted, time limit, or a bug: this rung fails visibly, the VOD plays on, the next rung
        is made."""
        logger.error("vod_rung_process for rendition %s failed: %r", kwargs.get("rendition_id"), exc)
        services.vod_rung_fail_and_go_on(rendition_id=kwargs["rendition_id"], reason=_failure_reason(exc))


@shared_task(
    base=VodRungProcessTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.VOD_PROCESS_SOFT_TIME_LIMIT_S,
    time_limit=settings.VOD_PROCESS_TIME_LIMIT_S,
    autoretry_for=(services.VodStorageError,),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=MAX_RETRIES,
)
def vod_rung_process(*, rendition_id: int) -> None:
    services.vod_rung_process(rendition_id=rendition_id)


@shared_task
def vods_retention_apply() -> int:
    """VODs past their owner's plan retention are deleted, a batch per run."""
    return services.vods_retention_apply()
