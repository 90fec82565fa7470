"""/ws/notifications/ through channels' WebsocketCommunicator and the real Redis channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from notifications.consumers import CLOSE_UNAUTHENTICATED, NotificationConsumer
from notifications.models import Notification
from notifications.selectors import users_online
from notifications.services import notifications_for_live_start, notifications_mark_read
from streams.models import Stream
from tests.factories import FollowFactory, RoomFactory

pytestmark = pytest.mark.django_db(transaction=True)


def connected(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = user
    return communicator


def test_anonymous_is_closed_with_4401():
    async def scenario():
        communicator = connected(AnonymousUser())
        await communicator.connect()
        assert (await communicator.receive_output(timeout=3)) == {
            "type": "websocket.close",
            "code": CLOSE_UNAUTHENTICATED,
        }

    async_to_sync(scenario)()


def test_online_follower_gets_the_alert_and_the_new_unread_count():
    room = RoomFactory(title="<b>Speedrun</b>")
    follower = FollowFactory(followed=room.owner).follower
    offline = FollowFactory(followed=room.owner).follower
    Notification.objects.create(recipient=follower, kind=Notification.Kind.SYSTEM, message="Welcome")
    stream = Stream.objects.create(room=room, started_at=timezone.now(), client_id="1")

    async def scenario():
        communicator = connected(follower)
        connected_ok, _ = await communicator.connect()
        assert connected_ok
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 1}
        assert users_online([follower.pk, offline.pk]) == [follower.pk]

        await database_sync_to_async(notifications_for_live_start)(stream_id=stream.pk)
        pushed = await communicator.receive_json_from(timeout=5)
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 2}
        await communicator.disconnect()
        return pushed

    pushed = async_to_sync(scenario)()
    alert = Notification.objects.get(recipient=follower, kind=Notification.Kind.LIVE_STARTED)
    assert pushed["type"] == "notification"
    assert pushed["id"] == alert.pk and pushed["kind"] == "live_started"
    # The API item's shape, user text as data (escaping is the renderer's job).
    assert set(pushed) == {"type", "id", "kind", "message", "actor", "room", "vod", "read_at", "created_at"}
    assert pushed["room"] == {"id": room.pk, "title": "<b>Speedrun</b>"}
    assert pushed["actor"]["username"] == room.owner.username
    assert Notification.objects.filter(recipient=offline).count() == 1
    assert users_online([follower.pk]) == []


def test_a_retried_fan_out_does_not_push_again():
    room = RoomFactory()
    follower = FollowFactory(followed=room.owner).follower
    stream = Stream.objects.create(room=room, started_at=timezone.now(), client_id="1")
    notifications_for_live_start(stream_id=stream.pk)

    async def scenario():
        communicator = connected(follower)
        await communicator.connect()
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 1}
        await database_sync_to_async(notifications_for_live_start)(stream_id=stream.pk)
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_marking_read_updates_the_count_on_open_pages():
    room = RoomFactory()
    user = FollowFactory(followed=room.owner).follower
    first, _second = (
        Notification.objects.create(recipient=user, kind=Notification.Kind.SYSTEM, message=str(n))
        for n in range(2)
    )

    async def scenario():
        communicator = connected(user)
        await communicator.connect()
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 2}
        await database_sync_to_async(notifications_mark_read)(user=user, ids=[first.pk])
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 1}
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_second_tab_keeps_the_user_online_when_the_first_closes(user):
    async def scenario():
        one, two = connected(user), connected(user)
        await one.connect()
        await two.connect()
        await one.disconnect()
        still = users_online([user.pk])
        await two.disconnect()
        return still

    assert async_to_sync(scenario)() == [user.pk]
    assert users_online([user.pk]) == []


def test_an_idle_socket_stays_open_and_still_gets_a_push():
    room = RoomFactory()
    follower = FollowFactory(followed=room.owner).follower
    stream = Stream.objects.create(room=room, started_at=timezone.now(), client_id="1")

    async def scenario():
        communicator = connected(follower)
        connected_ok, _ = await communicator.connect()
        assert connected_ok
        assert await communicator.receive_json_from(timeout=3) == {"type": "unread", "count": 0}
        # More than two of the channel layer's 5 s blocking pops with nothing to read.
        assert await communicator.receive_nothing(timeout=12, interval=0.5)

        await database_sync_to_async(notifications_for_live_start)(stream_id=stream.pk)
        pushed = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return pushed

    assert async_to_sync(scenario)()["kind"] == "live_started"
