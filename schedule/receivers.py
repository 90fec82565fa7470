"""The schedule's reaction to streams' events (connected in ScheduleConfig.ready): enqueue only."""

from django.dispatch import receiver

from schedule.tasks import schedule_link_stream
from streams.signals import stream_started


@receiver(stream_started, dispatch_uid="schedule.stream_started")
def enqueue_link_stream(sender, *, stream_id: int, **kwargs):
    schedule_link_stream.delay(stream_id=stream_id)
