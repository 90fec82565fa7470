"""The on_publish hook's path: its own ASGI handler, the cached site settings, its effects after commit,
and the owner's row lock that keeps the live quota under simultaneous publishes."""

import threading
from urllib.parse import urlencode

import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from accounts.models import SiteSettings
from accounts.services import site_settings_cached, site_settings_get
from chat.hub import published_events
from notifications.models import Notification
from notifications.tasks import notify_live_started
from rooms.selectors import stream_key_active
from streamlite.redis import keys, redis_sync
from streams.models import PublishRefusal, Stream
from streams.selectors import publish_refusal_reason
from tests.factories import FollowFactory, RoomFactory, UserFactory
from tests.streams.conftest import HOOK_SECRET

SECRET = HOOK_SECRET

pytestmark = pytest.mark.usefixtures("hook_settings")


def publish_url() -> str:
    return reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": SECRET})


def publish(client, room, clientid="1"):
    data = {
        "app": "live",
        "addr": "203.0.113.7",
        "name": stream_key_active(room=room).secret,
        "clientid": clientid,
    }
    return client.post(publish_url(), data)


def room_state_frames(room, action) -> list[dict]:
    """The room_state events the chat hub's channel of ``room`` carried while ``action`` ran."""
    pubsub = redis_sync().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.chat_frames(room.pk))
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    action()
    events = []
    while (message := pubsub.get_message(timeout=0.3)) is not None:
        events += [e for e in published_events(message["data"]) if e["type"] == "room_state"]
    pubsub.close()
    return events


@pytest.mark.django_db
def test_settings_saved_by_staff_reach_the_next_publish_despite_the_cache(
    client, django_capture_on_commit_callbacks
):
    room = RoomFactory()
    assert site_settings_cached().streamers_need_approval is False  # now cached
    row = site_settings_get()
    row.streamers_need_approval = True
    with django_capture_on_commit_callbacks(execute=True):
        row.save()
    assert publish(client, room).status_code == 403
    assert publish_refusal_reason(room=room) == PublishRefusal.NOT_APPROVED.label


@pytest.mark.django_db
def test_site_settings_are_read_from_the_cache_until_saved(django_assert_num_queries):
    site_settings_get()
    site_settings_cached()
    with django_assert_num_queries(0):
        assert site_settings_cached().streamers_need_approval is False
    SiteSettings.objects.update(streamers_need_approval=True)  # no save(): the cache is not told
    assert site_settings_cached().streamers_need_approval is False


@pytest.mark.django_db
def test_going_live_broadcasts_once_and_notifies_each_follower_once(
    client, celery_eager, django_capture_on_commit_callbacks
):
    room = RoomFactory()
    followers = [FollowFactory(followed=room.owner).follower for _ in range(2)]
    site_settings_get()  # made by the first publish otherwise, with its own commit callback

    def go_live():
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert publish(client, room).status_code == 302
        assert len(callbacks) == 3  # chat told of the live stream, the room's new state, stream_started

    events = room_state_frames(room, go_live)
    assert [e["status"] for e in events] == ["live"]
    stream = Stream.objects.get(room=room)
    alerts = Notification.objects.filter(kind=Notification.Kind.LIVE_STARTED, stream=stream)
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(f.pk for f in followers)
    # The worker running the notification task again (a redelivery) adds no second notification.
    notify_live_started.delay(stream_id=stream.pk)
    assert alerts.count() == len(followers)


async def asgi_post(path: str, body: bytes) -> tuple[int, dict[bytes, bytes]]:
    from streamlite.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path.split("?")[0],
        "raw_path": path.split("?")[0].encode(),
        "query_string": path.split("?")[1].encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"cookie", b"sessionid=abc; django_language=ko"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    return start["status"], {name.lower(): value for name, value in start["headers"]}


@pytest.mark.django_db(transaction=True)
def test_the_asgi_application_serves_hooks_without_the_site_middleware():
    from asgiref.sync import async_to_sync

    room = RoomFactory()
    body = urlencode({"app": "live", "name": stream_key_active(room=room).secret, "clientid": "5"}).encode()
    status, headers = async_to_sync(asgi_post)(publish_url(), body)
    close_old_connections()
    assert status == 302
    assert headers[b"location"] == f"rtmp://127.0.0.1:1935/hls/{room.public_name}".encode()
    assert Stream.objects.filter(room=room, status=Stream.Status.LIVE, client_id="5").exists()
    # What the site's stack would have added: session and language handling, clickjacking headers.
    assert b"vary" not in headers
    assert b"x-frame-options" not in headers
    assert b"set-cookie" not in headers


@pytest.mark.django_db(transaction=True)
def test_simultaneous_publishes_of_one_owners_rooms_respect_the_live_quota():
    owner = UserFactory(live_quota=1, room_quota=4)
    rooms = [RoomFactory(owner=owner) for _ in range(4)]
    barrier = threading.Barrier(len(rooms))
    statuses = []

    def one(room, clientid):
        try:
            client = Client()
            barrier.wait()
            statuses.append(publish(client, room, clientid=clientid).status_code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one, args=(room, str(n))) for n, room in enumerate(rooms, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 403, 403, 403]
    assert Stream.objects.filter(room__owner=owner, status=Stream.Status.LIVE).count() == 1
