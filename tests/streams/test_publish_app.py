"""on_publish's fast path (streams.publish_app): the plain case in one round trip to PostgreSQL's
streams_publish(), everything else handed with the same request to the hook view, which decides."""

import asyncio
import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from celery.signals import task_prerun
from django.core.cache import cache
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityLog, SiteSettings, StreamerApplication
from accounts.services import site_settings_get
from notifications.models import Notification
from rooms.models import Room
from rooms.selectors import stream_key_active
from streamlite.redis import keys, redis_sync
from streams import publish_app, selectors
from streams.hooks import HookHandler
from streams.models import PublishBlock, PublishRefusal, RoomRecord, Stream
from streams.selectors import publish_refusal_reason
from tests.factories import FollowFactory, RoomFactory, StaffFactory, StreamFactory, UserFactory
from tests.streams.conftest import HOOK_SECRET

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("hook_settings")]

SECRET = HOOK_SECRET
ADDR = "203.0.113.7"


class CountingFallback:
    """The hooks' real Django handler, counting the requests the fast path hands it."""

    def __init__(self):
        self.handler = HookHandler()
        self.calls = 0

    async def __call__(self, scope, receive, send):
        self.calls += 1
        await self.handler(scope, receive, send)


@pytest.fixture
def app():
    return publish_app.PublishApp(fallback=CountingFallback())


def plain_publish_ready(settings) -> tuple[publish_app.PublishApp, Room]:
    """A PublishApp with a counting fallback, and a room whose publish is its plain case (for the logs and
    metrics tests)."""
    settings.RTMP_HOOK_SECRET = SECRET
    room = RoomFactory()
    site_settings_get()
    return publish_app.PublishApp(fallback=CountingFallback()), room


def form(room, clientid="1", **extra) -> dict:
    return {
        "app": "live",
        "addr": ADDR,
        "name": stream_key_active(room=room).secret,
        "clientid": clientid,
        **extra,
    }


def request(fields: dict, *, secret=SECRET, method="POST", chunks=1, content_type=None) -> dict:
    body = urlencode(fields).encode()
    size = -(-len(body) // chunks)
    return {
        "method": method,
        "query": urlencode({"secret": secret}),
        "chunks": [body[n : n + size] for n in range(0, len(body), size)] or [b""],
        "content_type": content_type or b"application/x-www-form-urlencoded",
    }


async def _one(app, req) -> dict:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": req["method"],
        "scheme": "http",
        "path": reverse("rtmp_hooks:publish"),
        "raw_path": reverse("rtmp_hooks:publish").encode(),
        "query_string": req["query"].encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", req["content_type"])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(app, scope)
    for n, chunk in enumerate(req["chunks"]):
        more = n < len(req["chunks"]) - 1
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return {"status": start["status"], "headers": headers, "body": body.get("body", b"").decode()}


def serve(app, *requests, together=False) -> list[dict]:
    """Send the requests (one after the other, or all at once) in one event loop, as one server process
    would, then close the app's pool and wait for its follow-ups."""

    async def run():
        try:
            if together:
                return await asyncio.gather(*(_one(app, req) for req in requests))
            return [await _one(app, req) for req in requests]
        finally:
            await app.aclose()

    try:
        return async_to_sync(run)()
    finally:
        close_old_connections()


def relay(room) -> str:
    return f"rtmp://127.0.0.1:1935/hls/{room.public_name}"


def test_a_plain_publish_opens_the_stream_without_the_view(app):
    room = RoomFactory()
    site_settings_get()

    [answer] = serve(app, request(form(room, clientid="7")))

    assert answer["status"] == 302
    assert answer["headers"]["location"] == relay(room)
    assert answer["headers"]["x-request-id"]
    assert app.fallback.calls == 0
    stream = Stream.objects.get(room=room)
    assert (stream.status, stream.client_id, stream.last_heartbeat_at) == ("live", "7", stream.started_at)
    assert RoomRecord.objects.get(stream=stream).started_at == stream.started_at
    room.refresh_from_db()
    assert room.status == Room.Status.LIVE
    entry = ActivityLog.objects.get(action=ActivityLog.Action.GO_LIVE)
    assert entry.user == room.owner
    assert entry.detail == {"room_id": room.pk, "stream_id": stream.pk, "addr": ADDR}


def _rows(room) -> dict:
    stream = Stream.objects.get(room=room)
    record = RoomRecord.objects.get(stream=stream)
    entry = ActivityLog.objects.get(action=ActivityLog.Action.GO_LIVE, user=room.owner)
    ignored = {
        "id",
        "room",
        "stream",
        "created_at",
        "updated_at",
        "started_at",
        "last_heartbeat_at",
        "detail",
    }

    def fields(obj) -> dict:
        return {f.name: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in ignored}

    room.refresh_from_db()
    return {
        "stream": fields(stream),
        "heartbeat_is_start": stream.last_heartbeat_at == stream.started_at,
        "record": fields(record),
        "record_starts_with_stream": record.started_at == stream.started_at,
        "room_status": room.status,
        "room_updated_at_untouched": room.updated_at < stream.started_at,
        "activity": {**fields(entry), "user": entry.user_id == room.owner_id},
        "activity_detail": entry.detail == {"room_id": room.pk, "stream_id": stream.pk, "addr": ADDR},
    }


def test_the_fast_path_writes_the_rows_the_service_writes(app):
    """The function mirrors services.stream_publish: a column added to either must reach both."""
    by_view, by_function = RoomFactory(), RoomFactory()
    site_settings_get()

    response = Client().post(
        reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": SECRET}), form(by_view)
    )
    [answer] = serve(app, request(form(by_function)))

    assert (response.status_code, answer["status"]) == (302, 302)
    assert app.fallback.calls == 0
    assert _rows(by_function) == _rows(by_view)


def test_the_same_client_publishing_again_gets_its_stream_back(app):
    room = RoomFactory()
    site_settings_get()

    answers = serve(app, request(form(room, clientid="3")), request(form(room, clientid="3")))

    assert [a["status"] for a in answers] == [302, 302]
    assert app.fallback.calls == 0
    assert Stream.objects.filter(room=room).count() == 1
    assert ActivityLog.objects.filter(action=ActivityLog.Action.GO_LIVE).count() == 1


def test_a_wrong_hook_secret_is_left_to_the_view_and_changes_nothing(app):
    room = RoomFactory()

    [answer] = serve(app, request(form(room), secret="wrong"))

    assert (answer["status"], app.fallback.calls) == (403, 1)
    assert not Stream.objects.exists()


@pytest.mark.parametrize(
    ("name", "clientid", "status"),
    [("sk_" + "x" * 40, "1", 403), ("not a key!", "1", 403), (None, "12a", 400), (None, "", 400)],
)
def test_unknown_keys_and_malformed_fields_are_left_to_the_view(app, name, clientid, status):
    room = RoomFactory()
    fields = form(room, clientid=clientid)
    if name is not None:
        fields["name"] = name

    [answer] = serve(app, request(fields))

    assert (answer["status"], app.fallback.calls) == (status, 1)
    assert not Stream.objects.exists()
    if status == 403:  # the view counted the wrong key against the address
        assert selectors.publish_address_blocked(addr=ADDR) is False
        assert cache.get(selectors.bad_key_cache_key(ADDR)) == 1


def test_an_address_past_the_wrong_key_limit_is_refused_even_with_a_good_key(app):
    room = RoomFactory()
    site_settings_get()
    wrong = [request(form(room, name="sk_" + "x" * 40)) for _ in range(selectors.BAD_KEY_LIMIT)]

    answers = serve(app, *wrong, request(form(room)))

    assert [a["status"] for a in answers] == [403] * (selectors.BAD_KEY_LIMIT + 1)
    assert app.fallback.calls == selectors.BAD_KEY_LIMIT + 1
    assert PublishBlock.objects.filter(addr=ADDR, until__gt=timezone.now()).exists()
    assert not Stream.objects.exists()


def test_once_the_wrong_key_count_expires_the_address_publishes_again(app):
    room = RoomFactory()
    site_settings_get()
    serve(app, *(request(form(room, name="sk_" + "x" * 40)) for _ in range(selectors.BAD_KEY_LIMIT)))
    cache.delete(selectors.bad_key_cache_key(ADDR))  # what the count's expiry does

    [answer] = serve(app, request(form(room)))

    # The mark still sends the address to the view, which finds no count and lets the publish through.
    assert (answer["status"], app.fallback.calls) == (302, selectors.BAD_KEY_LIMIT + 1)
    assert Stream.objects.filter(room=room, status=Stream.Status.LIVE).exists()


def test_marks_of_blocked_addresses_expire_and_are_cleared(app):
    room = RoomFactory()
    site_settings_get()
    PublishBlock.objects.create(addr=ADDR, until=timezone.now() - timedelta(seconds=1))
    PublishBlock.objects.create(addr="198.51.100.9", until=timezone.now() - timedelta(seconds=1))

    answers = serve(
        app,
        request(form(room)),
        *(
            request(form(room, name="sk_" + "y" * 40, addr="192.0.2.1"))
            for _ in range(selectors.BAD_KEY_LIMIT)
        ),
    )

    assert answers[0]["status"] == 302 and app.fallback.calls == selectors.BAD_KEY_LIMIT  # first: fast
    assert list(PublishBlock.objects.values_list("addr", flat=True)) == ["192.0.2.1"]


def test_a_second_encoder_while_live_is_refused_by_the_view(app):
    room = RoomFactory()
    site_settings_get()

    answers = serve(app, request(form(room, clientid="1")), request(form(room, clientid="2")))

    assert [a["status"] for a in answers] == [302, 403]
    assert app.fallback.calls == 1
    assert publish_refusal_reason(room=room) == PublishRefusal.ALREADY_LIVE.label
    assert list(Stream.objects.values_list("client_id", flat=True)) == ["1"]


def test_a_stale_stream_is_replaced_by_the_view(app):
    room = RoomFactory(status=Room.Status.LIVE)
    site_settings_get()
    long_ago = timezone.now() - timedelta(hours=1)
    old = StreamFactory(room=room, status=Stream.Status.LIVE, client_id="1", started_at=long_ago)

    [answer] = serve(app, request(form(room, clientid="2")))

    assert (answer["status"], app.fallback.calls) == (302, 1)
    old.refresh_from_db()
    assert (old.status, old.end_reason) == (Stream.Status.ENDED, "replaced")
    assert Stream.objects.get(room=room, status=Stream.Status.LIVE).client_id == "2"


def test_the_live_quota_is_decided_by_the_view(app):
    owner = UserFactory(live_quota=1, room_quota=2)
    first, second = RoomFactory(owner=owner), RoomFactory(owner=owner)
    site_settings_get()

    answers = serve(app, request(form(first, clientid="1")), request(form(second, clientid="2")))

    assert [a["status"] for a in answers] == [302, 403]
    assert app.fallback.calls == 1
    assert publish_refusal_reason(room=second) == PublishRefusal.LIVE_QUOTA.label


def test_approval_is_checked_and_approved_streamers_take_the_fast_path(app):
    SiteSettings.objects.create(pk=1, streamers_need_approval=True)
    waiting, approved, staff = RoomFactory(), RoomFactory(), RoomFactory(owner=StaffFactory())
    StreamerApplication.objects.create(user=waiting.owner, status=StreamerApplication.Status.PENDING)
    StreamerApplication.objects.create(user=approved.owner, status=StreamerApplication.Status.APPROVED)

    answers = serve(app, *(request(form(room)) for room in (waiting, approved, staff)))

    assert [a["status"] for a in answers] == [403, 302, 302]
    assert app.fallback.calls == 1
    assert publish_refusal_reason(room=waiting) == PublishRefusal.NOT_APPROVED.label


def test_before_the_site_settings_row_exists_the_view_makes_it(app):
    room = RoomFactory()
    assert not SiteSettings.objects.exists()

    [answer] = serve(app, request(form(room)))

    assert (answer["status"], app.fallback.calls) == (302, 1)
    assert SiteSettings.objects.exists()


def test_a_body_in_several_parts_is_read_whole(app):
    room = RoomFactory()
    site_settings_get()

    [answer] = serve(app, request(form(room), chunks=3))

    assert (answer["status"], app.fallback.calls) == (302, 0)


def test_a_large_body_is_handed_on_whole_to_the_view(app):
    room = RoomFactory()
    site_settings_get()
    padding = "p" * (2 * publish_app.MAX_BODY_BYTES)

    [answer] = serve(app, request(form(room, padding=padding), chunks=4))

    # Handed on after the first parts: the view read the parts already taken and the rest.
    assert (answer["status"], app.fallback.calls) == (302, 1)
    assert Stream.objects.filter(room=room, status=Stream.Status.LIVE).exists()


@pytest.mark.parametrize(
    ("method", "content_type", "status"), [("GET", None, 405), ("POST", b"text/plain", 400)]
)
def test_other_methods_and_bodies_are_left_to_the_view(app, method, content_type, status):
    room = RoomFactory()

    [answer] = serve(app, request(form(room), method=method, content_type=content_type))

    assert (answer["status"], app.fallback.calls) == (status, 1)
    assert not Stream.objects.exists()


def test_an_unreachable_database_leaves_the_publish_to_the_view(app, monkeypatch, caplog):
    room = RoomFactory()
    site_settings_get()
    closed_port = {**publish_app.database_params(), "host": "127.0.0.1", "port": 9, "connect_timeout": 1}
    monkeypatch.setattr(publish_app, "database_params", lambda: closed_port)
    monkeypatch.setattr(publish_app, "DB_WAIT_S", 0.5)

    with caplog.at_level(logging.WARNING, logger="streams.publish_app"):
        [answer] = serve(app, request(form(room)))

    assert (answer["status"], app.fallback.calls) == (302, 1)
    assert "publish fast path unavailable" in caplog.text
    assert Stream.objects.filter(room=room, status=Stream.Status.LIVE).count() == 1


def test_a_burst_sends_its_follow_ups_in_one_task(app, celery_eager):
    rooms = [RoomFactory() for _ in range(3)]
    followers = {room.pk: FollowFactory(followed=room.owner).follower for room in rooms}
    site_settings_get()
    pubsub = redis_sync().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*(keys.chat_frames(room.pk) for room in rooms))
    tasks = []

    def count(sender=None, **_):
        tasks.append(sender.name)

    task_prerun.connect(count)
    try:
        answers = serve(
            app, *(request(form(room, clientid=str(n))) for n, room in enumerate(rooms)), together=True
        )
    finally:
        task_prerun.disconnect(count)

    assert [a["status"] for a in answers] == [302, 302, 302]
    assert tasks.count("streams.tasks.stream_live_followups_batch_task") == 1
    for room in rooms:
        stream = Stream.objects.get(room=room)
        alerts = Notification.objects.filter(kind=Notification.Kind.LIVE_STARTED, stream=stream)
        assert list(alerts.values_list("recipient_id", flat=True)) == [followers[room.pk].pk]
    announced = set()
    deadline = time.monotonic() + 2
    while len(announced) < len(rooms) and time.monotonic() < deadline:
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            announced.add(message["channel"])
    pubsub.close()
    assert announced == {keys.chat_frames(room.pk) for room in rooms}
