"""Viewer sampling for the dashboard chart (kept apart from streams/tasks.py, the ingest's tasks)."""

from celery import shared_task
from django.utils import timezone

from streams.models import Stream, ViewerSample


@shared_task
def sample_viewers() -> int:
    """Store the current viewer count of every live stream; returns how many samples were stored.

    Beat runs it every 30 s. Two runs at the same moment store two samples for that moment: harmless
    for a chart, so no lock or uniqueness is worth its cost here.
    """
    now = timezone.now()
    live = Stream.objects.filter(status=Stream.Status.LIVE).select_related("room")
    samples = [ViewerSample(stream=stream, at=now, viewers=stream.room.viewer_count) for stream in live]
    ViewerSample.objects.bulk_create(samples)
    return len(samples)
