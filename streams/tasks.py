import logging

import requests
from celery import shared_task

from rooms.models import StreamKey
from streams import ingest, previews, services
from streams.models import Stream

logger = logging.getLogger(__name__)


@shared_task
def room_records_stats_save() -> int:
    return services.room_records_stats_save()


@shared_task
def streams_reap_stale() -> int:
    return services.streams_reap_stale()


@shared_task
def ingest_reconcile() -> int:
    try:
        publishers = ingest.ingest_publishers()
    except requests.RequestException:
        # Ingest down: nothing to compare with; the reaper ends its streams once heartbeats stop.
        logger.warning("ingest /stat unreachable, reconcile skipped")
        return 0
    return services.ingest_reconcile(publishers=publishers)


@shared_task(bind=True, autoretry_for=(requests.RequestException,), retry_backoff=True, max_retries=5)
def ingest_drop_publisher(self, *, stream_key_id: int) -> int:
    """Disconnect the encoder still publishing with a revoked key; the id keeps the key out of the broker."""
    key = StreamKey.objects.filter(pk=stream_key_id, revoked_at__isnull=False).first()
    if key is None or not Stream.objects.filter(room_id=key.room_id, status=Stream.Status.LIVE).exists():
        return 0
    dropped = ingest.ingest_publisher_drop(name=key.secret)
    if not dropped:
        # Live in the database but not yet publishing in nginx: a reset right as the publish hook answered.
        # Try again shortly rather than leave that encoder streaming under a revoked key.
        raise self.retry(countdown=1)
    return dropped


@shared_task
def stream_previews_capture() -> int:
    return previews.stream_previews_capture()
