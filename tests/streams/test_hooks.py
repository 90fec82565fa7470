from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivityLog, SiteSettings, StreamerApplication
from accounts.services import site_settings_get
from chat.hub import published_events
from rooms.models import Room
from rooms.selectors import stream_key_active
from rooms.services import stream_key_reset
from streamlite.redis import keys, redis_sync
from streams import hooks, selectors, services
from streams.models import PublishRefusal, RoomRecord, Stream
from tests.factories import LiveRoomFactory, RoomFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "test-hook-secret"


@pytest.fixture(autouse=True)
def _hook_settings(settings, tmp_path):
    settings.RTMP_HOOK_SECRET = SECRET
    settings.RTMP_PORT = 1935
    settings.RTMP_HLS_APP = "hls"
    settings.RECORDINGS_ROOT = str(tmp_path / "recordings")
    settings.RTMP_UPDATE_INTERVAL_S = 10


def hook(client, name, data, secret=SECRET):
    url = reverse(f"rtmp_hooks:{name}")
    if secret is not None:
        url += "?" + urlencode({"secret": secret})
    return client.post(url, {"app": "live", "addr": "203.0.113.7", **data})


def key_of(room) -> str:
    return stream_key_active(room=room).secret


def publish(client, room, clientid="1", **extra):
    return hook(client, "publish", {"name": key_of(room), "clientid": clientid, **extra})


def live_streams(room):
    return Stream.objects.filter(room=room, status=Stream.Status.LIVE)


@pytest.fixture
def room():
    return RoomFactory()


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_wrong_or_missing_secret_is_refused_and_changes_nothing(client, room, secret):
    response = hook(client, "publish", {"name": key_of(room), "clientid": "1"}, secret=secret)
    assert response.status_code == 403
    assert not Stream.objects.exists()
    room.refresh_from_db()
    assert room.status == Room.Status.IDLE


def test_wrong_secret_on_publish_done_leaves_the_stream_live(client):
    live = LiveRoomFactory()
    response = hook(client, "publish_done", {"name": key_of(live), "clientid": "1"}, secret="nope")
    assert response.status_code == 403
    assert live_streams(live).count() == 1


def test_hooks_accept_only_post(client, room):
    response = client.get(reverse("rtmp_hooks:publish") + "?secret=" + SECRET)
    assert response.status_code == 405


@pytest.mark.parametrize(
    "name", ["sk_unknown_but_well_formed_key_0123456789", "", "../etc", "a" * 300, "ключ"]
)
def test_unknown_or_malformed_key_is_refused(client, room, name):
    response = hook(client, "publish", {"name": name, "clientid": "1"})
    assert response.status_code == 403
    assert not Stream.objects.exists()


def test_non_numeric_client_id_is_a_bad_request(client, room):
    response = hook(client, "publish", {"name": key_of(room), "clientid": "1; drop"})
    assert response.status_code == 400
    assert not Stream.objects.exists()


def test_good_key_goes_live_and_redirects_to_the_public_name(client, room):
    key = key_of(room)
    response = publish(client, room)
    assert response.status_code == 302
    assert response["Location"] == f"rtmp://127.0.0.1:1935/hls/{room.public_name}"
    assert key not in response["Location"]
    room.refresh_from_db()
    assert room.status == Room.Status.LIVE
    stream = live_streams(room).get()
    assert stream.client_id == "1"
    assert RoomRecord.objects.get(stream=stream).ended_at is None
    assert ActivityLog.objects.filter(action=ActivityLog.Action.GO_LIVE, user=room.owner).exists()
    assert not any(key in str(entry.detail) for entry in ActivityLog.objects.all())


def test_going_live_broadcasts_the_room_state_after_commit(
    client, room, django_capture_on_commit_callbacks, celery_eager
):

    pubsub = redis_sync().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.chat_frames(room.pk))
    with django_capture_on_commit_callbacks(execute=True):
        publish(client, room)
    message = None
    for _ in range(50):  # the subscribe confirmation comes first and reads as None
        message = message or pubsub.get_message(timeout=0.1)
    pubsub.close()
    [event] = published_events(message["data"])
    assert (event["type"], event["status"]) == ("room_state", "live")


def test_replayed_publish_with_the_same_client_id_keeps_one_stream(client, room):
    first = publish(client, room, clientid="7")
    again = publish(client, room, clientid="7")
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert Stream.objects.filter(room=room).count() == 1


def test_second_publisher_while_live_is_refused_with_a_reason(client, room):
    publish(client, room, clientid="1")
    response = publish(client, room, clientid="2")
    assert response.status_code == 403
    assert live_streams(room).get().client_id == "1"
    assert selectors.publish_refusal_reason(room=room) == PublishRefusal.ALREADY_LIVE.label


def test_publisher_of_a_vanished_ingest_is_replaced_by_the_reconnecting_encoder(client, room):
    publish(client, room, clientid="1")
    Stream.objects.filter(room=room).update(last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    response = publish(client, room, clientid="2")
    assert response.status_code == 302
    assert live_streams(room).get().client_id == "2"
    assert Stream.objects.get(client_id="1").end_reason == "replaced"


def test_publish_done_ends_the_stream_and_sets_the_room_idle(client, room):
    publish(client, room, clientid="3")
    Room.objects.filter(pk=room.pk).update(viewer_count=12)
    response = hook(client, "publish_done", {"name": key_of(room), "clientid": "3"})
    assert response.status_code == 200
    room.refresh_from_db()
    assert (room.status, room.viewer_count) == (Room.Status.IDLE, 0)
    stream = Stream.objects.get(room=room)
    assert stream.status == Stream.Status.ENDED
    assert stream.ended_at is not None
    assert stream.record.ended_at == stream.ended_at
    assert ActivityLog.objects.filter(action=ActivityLog.Action.STREAM_END).count() == 1


def test_replayed_or_unknown_publish_done_changes_nothing(client, room):
    publish(client, room, clientid="3")
    hook(client, "publish_done", {"name": key_of(room), "clientid": "3"})
    ended_at = Stream.objects.get(room=room).ended_at
    assert hook(client, "publish_done", {"name": key_of(room), "clientid": "3"}).status_code == 200
    assert hook(client, "publish_done", {"name": key_of(room), "clientid": "99"}).status_code == 200
    assert (
        hook(client, "publish_done", {"name": "sk_nobody_has_this_key_012345", "clientid": "3"}).status_code
        == 200
    )
    assert Stream.objects.get(room=room).ended_at == ended_at
    assert ActivityLog.objects.filter(action=ActivityLog.Action.STREAM_END).count() == 1


def test_publish_done_of_another_client_leaves_the_live_stream(client, room):
    publish(client, room, clientid="3")
    hook(client, "publish_done", {"name": key_of(room), "clientid": "4"})
    assert live_streams(room).count() == 1


def test_update_records_a_heartbeat(client, room):
    publish(client, room, clientid="5")
    old = timezone.now() - timedelta(seconds=20)
    Stream.objects.filter(room=room).update(last_heartbeat_at=old)
    response = hook(client, "update", {"name": key_of(room), "clientid": "5", "time": "20", "timestamp": "x"})
    assert response.status_code == 200
    assert live_streams(room).get().last_heartbeat_at > old


def test_update_of_an_unknown_client_is_harmless(client, room):
    response = hook(client, "update", {"name": key_of(room), "clientid": "5"})
    assert response.status_code == 200
    assert not Stream.objects.exists()


def test_record_done_stores_a_path_inside_the_recordings_folder(client, room, settings):
    publish(client, room, clientid="5")
    path = f"{settings.RECORDINGS_ROOT}/{room.public_name}-1700000000.flv"
    response = hook(
        client, "record_done", {"app": "hls", "name": room.public_name, "clientid": "9", "path": path}
    )
    assert response.status_code == 200
    assert Stream.objects.get(room=room).recording_path == path


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "{root}/../outside.flv", "{root}", "", "relative.flv", "{root}/a\x00.flv"]
)
def test_record_done_outside_the_recordings_folder_is_refused(client, room, settings, path):
    publish(client, room, clientid="5")
    path = path.format(root=settings.RECORDINGS_ROOT)
    response = hook(
        client, "record_done", {"app": "hls", "name": room.public_name, "clientid": "9", "path": path}
    )
    assert response.status_code == 400
    assert Stream.objects.get(room=room).recording_path == ""


def test_live_quota_refuses_a_second_room_of_the_same_owner(client):
    owner = UserFactory(live_quota=1, room_quota=2)
    first, second = RoomFactory(owner=owner), RoomFactory(owner=owner)
    assert publish(client, first).status_code == 302
    response = publish(client, second, clientid="2")
    assert response.status_code == 403
    assert not live_streams(second).exists()
    assert selectors.publish_refusal_reason(room=second) == PublishRefusal.LIVE_QUOTA.label


def test_unapproved_streamer_is_refused_where_approval_is_on(client, room):
    SiteSettings.objects.filter(pk=site_settings_get().pk).update(streamers_need_approval=True)
    response = publish(client, room)
    assert response.status_code == 403
    assert not Stream.objects.exists()
    assert selectors.publish_refusal_reason(room=room) == PublishRefusal.NOT_APPROVED.label


def test_approved_streamer_goes_live_where_approval_is_on(client, room):
    SiteSettings.objects.filter(pk=site_settings_get().pk).update(streamers_need_approval=True)
    StreamerApplication.objects.create(user=room.owner, status=StreamerApplication.Status.APPROVED)
    assert publish(client, room).status_code == 302


def test_staff_go_live_without_applying_where_approval_is_on(client):
    SiteSettings.objects.filter(pk=site_settings_get().pk).update(streamers_need_approval=True)
    assert publish(client, RoomFactory(owner=StaffFactory())).status_code == 302


def test_the_first_publish_of_a_new_site_makes_its_settings_row(client, room):
    assert not SiteSettings.objects.exists()
    assert publish(client, room).status_code == 302
    assert SiteSettings.objects.exists()


def test_going_live_clears_the_last_refusal(client, room, django_capture_on_commit_callbacks, celery_eager):
    publish(client, room, clientid="1")
    publish(client, room, clientid="2")
    hook(client, "publish_done", {"name": key_of(room), "clientid": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        publish(client, room, clientid="2")
    assert selectors.publish_refusal_reason(room=room) is None


def test_many_wrong_keys_from_one_address_block_it(client, room):
    for attempt in range(selectors.BAD_KEY_LIMIT):
        hook(client, "publish", {"name": f"sk_wrong_key_number_{attempt:04d}", "clientid": str(attempt)})
    assert publish(client, room).status_code == 403
    assert not Stream.objects.exists()
    other = hook(client, "publish", {"name": key_of(room), "clientid": "1", "addr": "198.51.100.1"})
    assert other.status_code == 302


def test_wrong_keys_are_forgotten_after_the_window(client, room):
    for attempt in range(selectors.BAD_KEY_LIMIT):
        hook(client, "publish", {"name": f"sk_wrong_key_number_{attempt:04d}", "clientid": str(attempt)})
    cache.delete(selectors.bad_key_cache_key("203.0.113.7"))  # what the key's expiry does
    assert publish(client, room).status_code == 302


def test_reaper_ends_streams_without_recent_heartbeats(client):
    stale, fresh = RoomFactory(), RoomFactory()
    publish(client, stale, clientid="1")
    publish(client, fresh, clientid="2", addr="198.51.100.2")
    Stream.objects.filter(room=stale).update(
        started_at=timezone.now() - timedelta(minutes=5),
        last_heartbeat_at=timezone.now() - timedelta(seconds=31),
    )
    assert services.streams_reap_stale() == 1
    stale.refresh_from_db()
    assert stale.status == Room.Status.IDLE
    assert Stream.objects.get(room=stale).end_reason == "heartbeat_lost"
    assert live_streams(fresh).count() == 1


def test_reset_key_no_longer_publishes_and_the_new_one_does(client, room):
    old_key = key_of(room)
    stream_key_reset(room=room, by=room.owner)
    response = hook(client, "publish", {"name": old_key, "clientid": "1"})
    assert response.status_code == 403
    assert publish(client, room, clientid="2").status_code == 302


def test_publish_done_under_a_reset_key_still_ends_its_stream(client, room):
    old_key = key_of(room)
    publish(client, room, clientid="1")
    stream_key_reset(room=room, by=room.owner)
    hook(client, "publish_done", {"name": old_key, "clientid": "1"})
    room.refresh_from_db()
    assert room.status == Room.Status.IDLE


def test_stream_end_is_idempotent():
    live = LiveRoomFactory()
    stream = live_streams(live).get()
    services.stream_end(stream=stream, reason="admin")
    first_end = Stream.objects.get(pk=stream.pk).ended_at
    services.stream_end(stream=stream, reason="again")
    stream.refresh_from_db()
    assert (stream.ended_at, stream.end_reason) == (first_end, "admin")


def test_hooks_need_no_csrf_token(room):
    from django.test import Client

    assert publish(Client(enforce_csrf_checks=True), room).status_code == 302


def test_a_malformed_encoder_address_falls_back_to_the_callers(client, room):
    response = hook(client, "publish", {"name": key_of(room), "clientid": "1", "addr": "1.2.3.4\x00"})
    assert response.status_code == 302
    assert ActivityLog.objects.get(action=ActivityLog.Action.GO_LIVE).detail["addr"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("01.2.3.4", "caller"),
        ("1.2.3", "caller"),
        ("256.1.1.1", "caller"),
        ("1.2.3.4\x00", "caller"),
        ("1.2.3.4 ", "caller"),
        ("", "caller"),
    ],
)
def test_encoder_addresses_are_kept_in_their_usual_form_or_replaced_by_the_callers(posted, expected):
    assert hooks.encoder_addr(posted=posted, remote="caller") == expected
