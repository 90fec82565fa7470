from celery import shared_task
from django.db import OperationalError

from schedule import services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def schedule_link_stream(*, stream_id: int) -> int | None:
    scheduled = services.scheduled_stream_link(stream_id=stream_id)
    return scheduled.pk if scheduled else None
