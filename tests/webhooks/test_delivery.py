"""Events reach registered endpoints signed, once their transaction commits, through the worker's task;
failures are retried, then the endpoint is disabled and its owner told. Real PostgreSQL, Redis, the MongoDB
stand-in and a local HTTP receiver that checks each signature."""

import pytest
from django.db import transaction

from notifications.models import Notification
from rooms.selectors import stream_key_active
from rooms.services import follow_create
from streams.services import stream_end, stream_publish
from tests.factories import RoomFactory, UserFactory, VodFactory
from vod import services as vod_services
from webhooks.models import Delivery, Endpoint
from webhooks.services import webhook_test_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_eager_retries")]


class Rollback(Exception):
    pass


def test_a_follow_is_delivered_signed_after_commit(receiver, endpoint_for):
    streamer, fan = UserFactory(), UserFactory()
    endpoint = endpoint_for(streamer, ["follow.created"])
    with transaction.atomic():
        follow_create(follower=fan, followed=streamer)
        assert receiver.requests == []  # not before the commit
    [request] = receiver.requests
    assert request["signed"]
    body = request["body"]
    assert set(body) == {"id", "event", "created_at", "data"}
    assert body["event"] == "follow.created"
    assert body["data"]["follower"]["username"] == fan.username
    assert request["headers"]["X-StreamLite-Event"] == "follow.created"
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)
    assert str(delivery.event_id) == body["id"]


def test_nothing_is_delivered_on_rollback(receiver, endpoint_for):
    streamer, fan = UserFactory(), UserFactory()
    endpoint_for(streamer, ["follow.created"])
    with pytest.raises(Rollback), transaction.atomic():
        follow_create(follower=fan, followed=streamer)
        raise Rollback
    assert receiver.requests == []
    assert not Delivery.objects.exists()


def test_stream_start_and_end_are_delivered(receiver, endpoint_for):
    room = RoomFactory()
    endpoint_for(room.owner, ["stream.started", "stream.ended"], room=room)
    stream = stream_publish(secret=stream_key_active(room=room).secret, client_id="7", addr="203.0.113.9")
    stream_end(stream=stream, reason="done")
    assert [r["body"]["event"] for r in receiver.requests] == ["stream.started", "stream.ended"]
    assert all(r["signed"] for r in receiver.requests)
    ended = receiver.requests[1]["body"]["data"]
    assert ended["stream"]["id"] == stream.pk
    assert ended["room"]["id"] == room.pk
    assert ended["stream"]["end_reason"] == "done"


def test_vod_ready_is_delivered(receiver, endpoint_for):
    vod = VodFactory(status="processing", duration_s=None)
    endpoint_for(vod.room.owner, ["vod.ready"])
    with transaction.atomic():
        vod_services._publish(
            vod_id=vod.pk,
            playlist_path="v/x.m3u8",
            thumbnail_path="v/x.jpg",
            duration_s=60,
            size_bytes=1,
            width=None,
            height=None,
            bandwidth=0,
        )
    [request] = receiver.requests
    assert request["signed"]
    assert request["body"]["event"] == "vod.ready"
    assert request["body"]["data"]["vod"] == {
        "id": vod.pk,
        "title": vod.title,
        "duration_s": 60,
        "path": f"/vods/{vod.pk}/",
    }


def test_events_not_subscribed_or_of_other_rooms_are_not_sent(receiver, endpoint_for):
    room, other_room = RoomFactory(), RoomFactory()
    endpoint_for(room.owner, ["stream.ended"], room=room)
    stream_publish(secret=stream_key_active(room=room).secret, client_id="1", addr="203.0.113.9")
    other = stream_publish(
        secret=stream_key_active(room=other_room).secret, client_id="1", addr="203.0.113.9"
    )
    stream_end(stream=other, reason="done")
    assert receiver.requests == []


def test_site_wide_endpoint_of_staff_gets_every_room(receiver, endpoint_for, staff):
    endpoint_for(staff, ["follow.created"], site_wide=True)
    follow_create(follower=UserFactory(), followed=UserFactory())
    assert len(receiver.requests) == 1


def test_failures_are_retried_then_the_endpoint_is_disabled_and_its_owner_told(
    receiver, endpoint_for, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DISABLE_AFTER = 2
    streamer = UserFactory()
    endpoint = endpoint_for(streamer, ["follow.created"])
    receiver.status = 500
    follow_create(follower=UserFactory(), followed=streamer)
    assert len(receiver.requests) == 3
    assert all(r["signed"] for r in receiver.requests)
    assert len({r["body"]["id"] for r in receiver.requests}) == 1  # one event, tried three times
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 1

    follow_create(follower=UserFactory(), followed=streamer)
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_reason
    assert (
        Delivery.objects.filter(endpoint=endpoint, status="failed", attempts=3, status_code=500).count() == 2
    )
    notice = Notification.objects.get(recipient=streamer, kind=Notification.Kind.SYSTEM)
    assert receiver.url in notice.message

    follow_create(follower=UserFactory(), followed=streamer)
    assert len(receiver.requests) == 6  # a disabled endpoint gets nothing


def test_a_successful_test_turns_a_disabled_endpoint_back_on(receiver, endpoint_for):
    endpoint = endpoint_for(UserFactory(), ["follow.created"])
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False, consecutive_failures=10, disabled_reason="x")
    webhook_test_send(endpoint=endpoint)
    [request] = receiver.requests
    assert request["signed"] and request["body"]["event"] == "webhook.test"
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.consecutive_failures, endpoint.disabled_reason) == (True, 0, "")


def test_a_hanging_receiver_times_out(receiver, endpoint_for, settings):
    import time

    settings.WEBHOOK_TIMEOUT_S = 1
    receiver.hang_s = 5
    endpoint = endpoint_for(UserFactory(), ["follow.created"])
    started = time.monotonic()
    webhook_test_send(endpoint=endpoint)
    assert time.monotonic() - started < 3
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.status_code, delivery.error) == ("failed", None, "timed out")


def test_a_redirect_is_not_followed(receiver, endpoint_for):
    receiver.redirect_to = receiver.url.replace("/hook", "/elsewhere")
    endpoint = endpoint_for(UserFactory(), ["follow.created"])
    webhook_test_send(endpoint=endpoint)
    assert receiver.paths() == ["/hook"]
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.status_code) == ("failed", 302)


def test_the_address_is_checked_again_at_delivery(receiver, endpoint_for, settings):
    endpoint = endpoint_for(UserFactory(), ["follow.created"])
    settings.OUTBOUND_ALLOW_PRIVATE = False  # the name now resolves to a forbidden address
    webhook_test_send(endpoint=endpoint)
    assert receiver.requests == []
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed" and "private" in delivery.error


def test_the_secret_is_never_logged(receiver, endpoint_for, settings, caplog):
    caplog.set_level("DEBUG")
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER = 1
    receiver.status = 500
    streamer = UserFactory()
    endpoint = endpoint_for(streamer, ["follow.created"])
    follow_create(follower=UserFactory(), followed=streamer)
    endpoint.refresh_from_db()
    assert not endpoint.active and caplog.records  # failures and the disabling were logged
    assert endpoint.secret not in caplog.text
    assert all(endpoint.secret not in str(record.__dict__) for record in caplog.records)


def test_chat_messages_are_delivered_from_the_archive_flush_when_opted_in(
    receiver, endpoint_for, mongo_archive, outbox_add
):
    import json

    from chat.archive import outbox_flush
    from streamlite.redis import keys, redis_sync

    room, quiet_room = RoomFactory(), RoomFactory()
    endpoint_for(quiet_room.owner, ["follow.created"])  # did not opt in
    endpoint_for(room.owner, ["chat.message"])  # the receiver checks signatures with this one's secret
    doc = outbox_add(room_id=room.pk, text="hi there", username="fan")
    outbox_add(room_id=quiet_room.pk, text="elsewhere")
    assert outbox_flush(consumer="t") == 2
    [request] = receiver.requests
    assert request["signed"] and request["body"]["event"] == "chat.message"
    data = request["body"]["data"]
    assert data["message"]["id"] == doc["_id"] and data["message"]["text"] == "hi there"
    assert data["room"]["id"] == room.pk and data["user"]["username"] == "fan"
    # The batch replayed after a failure: the same message is not delivered again.
    redis_sync().xadd(keys.CHAT_OUTBOX, {"doc": json.dumps(doc)})
    outbox_flush(consumer="t")
    assert len(receiver.requests) == 1
