"""The vod app's reactions to the events of the apps below it (connected in VodConfig.ready)."""

from django.dispatch import receiver

from streams.signals import recording_done
from vod.tasks import vod_process


@receiver(recording_done, dispatch_uid="vod.recording_done")
def enqueue_vod_process(sender, *, stream_id: int, **kwargs):
    vod_process.delay(stream_id=stream_id)
