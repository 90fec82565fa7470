"""Notifications' reactions to the events of every app below it (connected in NotificationsConfig.ready).
Each receiver only enqueues: the work runs in the worker."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from accounts.signals import user_deactivated
from notifications.events import user_group_name
from notifications.tasks import (
    email_alerts_live_started,
    email_alerts_new_vod,
    notify_live_started,
    notify_new_follower,
    notify_new_vod,
)
from rooms.signals import follow_created
from streams.signals import stream_started
from vod.signals import vod_ready


@receiver(user_deactivated, dispatch_uid="notifications.user_deactivated")
def close_notification_sockets(sender, *, user_id: int, **kwargs):
    async_to_sync(get_channel_layer().group_send)(user_group_name(user_id), {"type": "session.closed"})


@receiver(follow_created, dispatch_uid="notifications.follow_created")
def enqueue_new_follower(sender, *, follow_id: int, **kwargs):
    notify_new_follower.delay(follow_id=follow_id)


@receiver(vod_ready, dispatch_uid="notifications.vod_ready")
def enqueue_new_vod(sender, *, vod_id: int, **kwargs):
    notify_new_vod.delay(vod_id=vod_id)
    email_alerts_new_vod.delay(vod_id=vod_id)


@receiver(stream_started, dispatch_uid="notifications.stream_started")
def enqueue_live_started(sender, *, stream_id: int, **kwargs):
    notify_live_started.delay(stream_id=stream_id)
    email_alerts_live_started.delay(stream_id=stream_id)
