"""Fan-outs run by the worker after the commit that caused them; each is idempotent (the database keeps
one notification per recipient and stream, VOD or unread follow), so retries and duplicates are safe."""

from celery import shared_task
from django.db import OperationalError

from notifications import emails, services
from schedule.selectors import reminders_due
from schedule.services import reminders_claim

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


@shared_task(**RETRY)
def email_alerts_live_started(*, stream_id: int) -> None:
    streamer_id = emails.email_alerts_queue_live(stream_id=stream_id)
    if streamer_id is not None:
        email_alerts_send.delay(streamer_id=streamer_id)


@shared_task(**RETRY)
def email_alerts_new_vod(*, vod_id: int) -> None:
    streamer_id = emails.email_alerts_queue_vod(vod_id=vod_id)
    if streamer_id is not None:
        email_alerts_send.delay(streamer_id=streamer_id)


# Beat runs it every minute without a streamer: alerts held back by the interval or a failed attempt.
@shared_task(**RETRY)
def email_alerts_send(*, streamer_id: int | None = None) -> int:
    return emails.email_alerts_send_due(streamer_id=streamer_id)


# Beat runs it every minute: streams scheduled to start within the reminder lead time.
@shared_task(**RETRY)
def schedule_reminders_send() -> int:
    sent = 0
    for scheduled in reminders_due():
        # Claimed first: a reminder late or lost in a crash is better than one sent twice.
        if not reminders_claim(scheduled_id=scheduled.pk):
            continue
        sent += services.notifications_for_reminder(scheduled=scheduled)
        if emails.email_alerts_queue_reminder(scheduled=scheduled) is not None:
            email_alerts_send.delay(streamer_id=scheduled.room.owner_id)
    return sent
