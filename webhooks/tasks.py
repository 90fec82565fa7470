from celery import shared_task
from django.conf import settings

from webhooks import services


@shared_task(acks_late=True)
def webhooks_event_fan_out(*, event: str, object_id: int) -> int:
    return services.event_deliveries_create(event=event, object_id=object_id)


@shared_task(acks_late=True)
def webhooks_chat_fan_out(*, messages: list[dict]) -> int:
    return services.chat_message_deliveries_create(messages=messages)


# The receiver's timeout bounds each attempt; the time limits are the backstop should anything else hang.
@shared_task(bind=True, acks_late=True, soft_time_limit=settings.WEBHOOK_TIMEOUT_S + 20, time_limit=60)
def webhook_deliver(self, *, delivery_id: int) -> None:
    # The delivery row counts the attempts and decides when to stop, so Celery's own limit is lifted.
    countdown = services.delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown, max_retries=None)
