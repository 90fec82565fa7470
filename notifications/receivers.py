"""Notifications' reactions to the events of the apps below (their signals, connected in apps.py)."""

from notifications import tasks


def on_stream_started(*, stream_id: int, **_) -> None:
    tasks.notify_live_started.delay(stream_id=stream_id)
