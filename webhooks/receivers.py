"""Webhooks' reactions to the events of the apps below it (connected in WebhooksConfig.ready).
Each receiver only enqueues: matching endpoints and sending run in the worker (the chat one, already in
the worker, first drops the messages of rooms nobody listens to)."""

from django.dispatch import receiver

from chat.signals import chat_messages_archived
from clips.signals import clip_ready
from rooms.signals import follow_created
from streams.signals import stream_ended, stream_started
from vod.signals import vod_ready
from webhooks.models import Event
from webhooks.selectors import rooms_with_event_endpoints
from webhooks.tasks import webhooks_chat_fan_out, webhooks_event_fan_out


@receiver(stream_started, dispatch_uid="webhooks.stream_started")
def enqueue_stream_started(sender, *, stream_id: int, **kwargs):
    webhooks_event_fan_out.delay(event=Event.STREAM_STARTED.value, object_id=stream_id)


@receiver(stream_ended, dispatch_uid="webhooks.stream_ended")
def enqueue_stream_ended(sender, *, stream_id: int, **kwargs):
    webhooks_event_fan_out.delay(event=Event.STREAM_ENDED.value, object_id=stream_id)


@receiver(vod_ready, dispatch_uid="webhooks.vod_ready")
def enqueue_vod_ready(sender, *, vod_id: int, **kwargs):
    webhooks_event_fan_out.delay(event=Event.VOD_READY.value, object_id=vod_id)


@receiver(clip_ready, dispatch_uid="webhooks.clip_ready")
def enqueue_clip_created(sender, *, clip_id: int, **kwargs):
    webhooks_event_fan_out.delay(event=Event.CLIP_CREATED.value, object_id=clip_id)


@receiver(follow_created, dispatch_uid="webhooks.follow_created")
def enqueue_follow_created(sender, *, follow_id: int, **kwargs):
    webhooks_event_fan_out.delay(event=Event.FOLLOW_CREATED.value, object_id=follow_id)


@receiver(chat_messages_archived, dispatch_uid="webhooks.chat_messages_archived")
def enqueue_chat_messages(sender, *, messages: list[dict], **kwargs):
    # Runs in the archive's flush, once per batch: only the messages of rooms someone listens to go on.
    rooms = rooms_with_event_endpoints(
        event=Event.CHAT_MESSAGE.value, room_ids={message["room"] for message in messages}
    )
    wanted = [message for message in messages if message["room"] in rooms]
    if wanted:
        webhooks_chat_fan_out.delay(messages=wanted)
