"""Fan-outs run by the worker after the commit that caused them; each is idempotent (the database keeps
one notification per recipient and stream, VOD or unread follow), so retries and duplicates are safe."""

from celery import shared_task
from django.db import OperationalError

from notifications import services

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def notify_live_started(*, stream_id: int) -> int:
    return services.notifications_for_live_start(stream_id=stream_id)


@shared_task(**RETRY)
def notify_new_vod(*, vod_id: int) -> int:
    return services.notifications_for_vod(vod_id=vod_id)


@shared_task(**RETRY)
def notify_new_follower(*, follow_id: int) -> int:
    return services.notifications_for_new_follower(follow_id=follow_id)


@shared_task
def notifications_prune() -> int:
    return services.notifications_prune()
