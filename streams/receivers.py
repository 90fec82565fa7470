"""Streams' reactions to the events of the apps below it (connected in StreamsConfig.ready)."""

from django.dispatch import receiver

from rooms.signals import stream_key_revoked
from streams.tasks import ingest_drop_publisher


@receiver(stream_key_revoked, dispatch_uid="streams.stream_key_revoked")
def drop_revoked_publisher(sender, *, stream_key_id: int, **kwargs):
    # An encoder still publishing with the old key is disconnected by the ingest.
    ingest_drop_publisher.delay(stream_key_id=stream_key_id)
