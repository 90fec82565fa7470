import logging

from celery import Task, shared_task
from django.utils.translation import gettext as _

from clips import services
from clips.models import Clip

logger = logging.getLogger(__name__)


class ClipProcessTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted or a bug: the maker sees a failed clip rather than an endless wait."""
        logger.error("clip_process for clip %s failed: %r", kwargs.get("clip_id"), exc)
        clip = Clip.objects.filter(pk=kwargs["clip_id"]).first()
        if clip is not None:
            services.clip_fail(clip=clip, reason=_("Making the clip failed unexpectedly."))


# A worker killed mid-cut leaves the message to be delivered again; the idempotent service publishes once.
@shared_task(
    base=ClipProcessTask,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=180,
    autoretry_for=(services.ClipStorageError,),
    retry_backoff=5,
    max_retries=3,
)
def clip_process(*, clip_id: int) -> None:
    services.clip_process(clip_id=clip_id)
