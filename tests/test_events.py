"""Each reaction of one app to another's event happens once the transaction commits, and never when it
rolls back (DESIGN §5). Observed where the reaction lands: the Celery queue on the real Redis broker, the
chat rules cache and the channel layer."""

import asyncio
import base64
import json

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from notifications.events import user_group_name
from rooms.services import follow_create, room_update, stream_key_reset
from streamlite.redis import keys
from tests.factories import RoomFactory, UserFactory, VodFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, decode_responses=True)
    client.delete("celery")
    yield client
    client.delete("celery")


def queued(broker) -> list[tuple[str, dict]]:
    """(task name, kwargs) of every message waiting on the default queue."""
    found = []
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], body[1]))
    return found


def rolled_back(action) -> None:
    with pytest.raises(Rollback), transaction.atomic():
        action()
        raise Rollback


def test_a_follow_queues_the_new_follower_alert_only_when_committed(broker):
    fan, other, streamer = UserFactory(), UserFactory(), UserFactory()
    rolled_back(lambda: follow_create(follower=other, followed=streamer))
    assert queued(broker) == []
    with transaction.atomic():
        follow, _ = follow_create(follower=fan, followed=streamer)
        assert queued(broker) == []  # not before the commit
    # The broker's list holds the newest first: compared in a fixed order.
    assert sorted(queued(broker), key=lambda task: task[0]) == [
        ("notifications.tasks.notify_new_follower", {"follow_id": follow.pk}),
        ("webhooks.tasks.webhooks_event_fan_out", {"event": "follow.created", "object_id": follow.pk}),
    ]


def test_a_key_reset_queues_the_encoder_drop_only_when_committed(broker):
    room = RoomFactory()
    old_key = room.stream_keys.get()
    rolled_back(lambda: stream_key_reset(room=room))
    assert queued(broker) == []
    stream_key_reset(room=room)
    assert queued(broker) == [("streams.tasks.ingest_drop_publisher", {"stream_key_id": old_key.pk})]


def test_a_ready_vod_queues_the_followers_alert_only_when_committed(broker):
    from vod.services import _publish

    def publish(vod):
        _publish(
            vod_id=vod.pk,
            playlist_path=f"vods/{vod.pk}/index.m3u8",
            thumbnail_path="",
            duration_s=5,
            size_bytes=1,
            width=None,
            height=None,
            bandwidth=0,
        )

    rolled_back(lambda: publish(VodFactory(status="processing")))
    assert queued(broker) == []
    vod = VodFactory(status="processing")
    publish(vod)
    # The broker's list holds the newest first: compared in a fixed order.
    assert sorted(queued(broker), key=lambda task: task[0]) == [
        ("notifications.tasks.email_alerts_new_vod", {"vod_id": vod.pk}),
        ("notifications.tasks.notify_new_vod", {"vod_id": vod.pk}),
        ("webhooks.tasks.webhooks_event_fan_out", {"event": "vod.ready", "object_id": vod.pk}),
    ]


def test_a_stream_end_queues_the_webhooks_only_when_committed(broker):
    from streams.models import Stream
    from streams.services import stream_end
    from tests.factories import LiveRoomFactory

    stream = Stream.objects.get(room=LiveRoomFactory(), status=Stream.Status.LIVE)
    rolled_back(lambda: stream_end(stream=stream, reason="done"))
    assert queued(broker) == []
    stream_end(stream=stream, reason="done")
    assert queued(broker) == [
        ("webhooks.tasks.webhooks_event_fan_out", {"event": "stream.ended", "object_id": stream.pk})
    ]


def test_a_room_edit_drops_the_cached_chat_rules_only_when_committed():
    room = RoomFactory()
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(keys.chat_rules(room.pk), "{}")
    rolled_back(lambda: room_update(room=room, changes={"allow_comments": False}))
    assert client.exists(keys.chat_rules(room.pk))
    room_update(room=room, changes={"allow_comments": False})
    assert not client.exists(keys.chat_rules(room.pk))


def test_deactivating_a_user_closes_their_sockets_only_when_committed():
    user = UserFactory()
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    layer = get_channel_layer()

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(user_group_name(user.pk), channel)
        return channel

    channel = asyncio.run(listen())
    control = client.pubsub(ignore_subscribe_messages=True)
    control.subscribe(keys.CHAT_CONTROL)

    def deactivate():
        user.is_active = False
        user.save()

    rolled_back(deactivate)
    assert control.get_message(timeout=0.5) is None
    deactivate()
    assert json.loads(control.get_message(timeout=2)["data"]) == {"close_user": user.pk, "room_id": None}
    received = asyncio.run(asyncio.wait_for(layer.receive(channel), 2))
    assert received == {"type": "session.closed"}
