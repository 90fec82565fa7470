"""Pinned and highlighted messages: who may, what the room is told, what joiners and resumers get."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import ActivityLog
from chat import services
from chat.archive import outbox_flush
from chat.hub import published_events
from chat.models import PinnedMessage
from streamlite.redis import keys, redis_sync
from tests.api.conftest import assert_error
from tests.chat.test_api import client_for
from tests.factories import RoomFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def recent_push(room_id: int, message_id: int, text: str = "pin me") -> dict:
    event = {
        "type": "chat",
        "id": message_id,
        "seq": message_id,
        "user": {"username": "ann", "display_name": "Ann", "level": 3},
        "text": text,
        "created_at": "2026-12-05T20:00:00+00:00",
    }
    redis_sync().rpush(keys.chat_recent(room_id), json.dumps(event))
    # As the pipeline numbers messages: ids up to chat:next_id exist.
    redis_sync().set(keys.CHAT_NEXT_ID, max(message_id, int(redis_sync().get(keys.CHAT_NEXT_ID) or 0)))
    return event


def room_listener(room_id: int):
    listener = redis_sync().pubsub()
    listener.subscribe(keys.chat_frames(room_id))
    listener.get_message(timeout=1)  # the subscription's confirmation
    return listener


def published(listener) -> list[dict]:
    message = listener.get_message(timeout=2)
    assert message is not None, "nothing was published to the room"
    return published_events(message["data"])


def test_a_moderator_pins_a_recent_message_and_the_room_is_told(
    chat_redis_flushed, mongo_archive, django_capture_on_commit_callbacks
):
    room, moderator = RoomFactory(), UserFactory()
    room.moderators.add(moderator)
    recent_push(room.pk, 7)
    listener = room_listener(room.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.chat_message_pin(room=room, message_id=7, by=moderator)
    [event] = published(listener)
    assert event["type"] == "pin" and isinstance(event["seq"], int)
    assert event["message"] == {
        "id": 7,
        "user": {"username": "ann", "display_name": "Ann", "level": 3},
        "text": "pin me",
        "kind": "chat",
        "created_at": "2026-12-05T20:00:00+00:00",
    }
    assert PinnedMessage.objects.get(room=room).message == event["message"]
    assert ActivityLog.objects.filter(detail__what="chat_pin", user=moderator).exists()


def test_an_archived_message_can_be_pinned_and_a_new_pin_replaces_the_old(mongo_archive, outbox_add):
    room = RoomFactory()
    old, new = outbox_add(room_id=room.pk, text="old"), outbox_add(room_id=room.pk, text="new")
    outbox_flush(consumer="t")
    services.chat_message_pin(room=room, message_id=old["_id"], by=room.owner)
    services.chat_message_pin(room=room, message_id=new["_id"], by=room.owner)
    pin = PinnedMessage.objects.get(room=room)
    assert (pin.message_id, pin.message["text"], pin.message["user"]["username"]) == (
        new["_id"],
        "new",
        "viewer",
    )


def test_another_rooms_or_a_deleted_message_cannot_be_pinned(mongo_archive, outbox_add):
    room, other = RoomFactory(), RoomFactory()
    elsewhere = outbox_add(room_id=other.pk)
    gone = outbox_add(room_id=room.pk)
    outbox_flush(consumer="t")
    services.chat_message_delete(room=room, message_id=gone["_id"], by=room.owner)
    for message_id in (elsewhere["_id"], gone["_id"]):
        response = client_for(room.owner).post(
            reverse("api-moderation-pin", args=[room.pk]), {"message_id": message_id}, format="json"
        )
        assert_error(response, 404, "not_found")
    assert not PinnedMessage.objects.exists()


def test_strangers_cannot_pin_and_bad_input_is_a_400(chat_redis_flushed, mongo_archive):
    room = RoomFactory()
    recent_push(room.pk, 3)
    url = reverse("api-moderation-pin", args=[room.pk])
    assert_error(client_for(UserFactory()).post(url, {"message_id": 3}, format="json"), 403)
    assert_error(client_for(None).post(url, {"message_id": 3}, format="json"), 401)
    assert_error(client_for(UserFactory()).delete(url), 403)
    for body in ({}, {"message_id": "x"}, {"message_id": 0}, {"message_id": 2**60}):
        assert_error(client_for(room.owner).post(url, body, format="json"), 400, "invalid", ("message_id",))
    assert not PinnedMessage.objects.exists()


def test_unpin_over_the_api_tells_the_room(
    chat_redis_flushed, mongo_archive, django_capture_on_commit_callbacks
):
    room = RoomFactory()
    recent_push(room.pk, 4)
    url = reverse("api-moderation-pin", args=[room.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(room.owner).post(url, {"message_id": 4}, format="json")
    assert response.status_code == 200 and response.json()["text"] == "pin me"
    listener = room_listener(room.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(room.owner).delete(url).status_code == 204
    assert [event["type"] for event in published(listener)] == ["unpin"]
    assert not PinnedMessage.objects.exists()
    # Unpinning again is harmless.
    assert client_for(room.owner).delete(url).status_code == 204


def test_deleting_the_pinned_message_unpins_it(
    chat_redis_flushed, mongo_archive, django_capture_on_commit_callbacks
):
    room = RoomFactory()
    recent_push(room.pk, 5)
    services.chat_message_pin(room=room, message_id=5, by=room.owner)
    listener = room_listener(room.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.chat_message_delete(room=room, message_id=5, by=room.owner)
    assert [event["type"] for event in published(listener)] == ["delete", "unpin"]
    assert not PinnedMessage.objects.exists()


def test_only_the_streamer_or_staff_highlight_and_nothing_is_kept(chat_redis_flushed, mongo_archive):
    room, moderator = RoomFactory(), UserFactory()
    room.moderators.add(moderator)
    recent_push(room.pk, 6, text="great question")
    url = reverse("api-moderation-highlight", args=[room.pk])
    assert_error(client_for(moderator).post(url, {"message_id": 6}, format="json"), 403)
    with pytest.raises(PermissionDenied):
        services.chat_message_highlight(room=room, message_id=6, by=moderator)
    listener = room_listener(room.pk)
    response = client_for(room.owner).post(url, {"message_id": 6}, format="json")
    assert response.status_code == 200
    [event] = published(listener)
    assert (event["type"], event["message"]["text"]) == ("highlight", "great question")
    assert client_for(StaffFactory()).post(url, {"message_id": 6}, format="json").status_code == 200
    # Shown once, live: not in the recent list that joins and resumes read.
    recent = [json.loads(raw)["type"] for raw in redis_sync().lrange(keys.chat_recent(room.pk), 0, -1)]
    assert "highlight" not in recent
