"""The VOD app's reactions to the events of the apps below (their signals, connected in apps.py)."""

from vod import tasks


def on_recording_done(*, stream_id: int, **_) -> None:
    tasks.vod_process.delay(stream_id=stream_id)
