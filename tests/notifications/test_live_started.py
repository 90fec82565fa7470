from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.tasks import notify_live_started
from streams.models import Stream
from tests.factories import FollowFactory, RoomFactory
from tests.notifications.conftest import hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return RoomFactory()


@pytest.fixture
def followers(room):
    return [FollowFactory(followed=room.owner).follower for _ in range(3)]


@pytest.fixture
def bell_off(room):
    return FollowFactory(followed=room.owner, notify=False).follower


def live_alerts(**filters):
    return Notification.objects.filter(kind=Notification.Kind.LIVE_STARTED, **filters)


def go_live(client, room, clientid, capture):
    with capture(execute=True):
        return hook(client, "publish", room, clientid=clientid)


def end(client, room, clientid, capture):
    with capture(execute=True):
        return hook(client, "publish_done", room, clientid=clientid)


def test_going_live_alerts_each_opted_in_follower_once_under_duplicated_and_replayed_hooks(
    client, room, followers, bell_off, celery_eager, django_capture_on_commit_callbacks
):
    assert go_live(client, room, "7", django_capture_on_commit_callbacks).status_code == 302
    # nginx retrying the same publish, and a second encoder racing it (refused while live).
    assert go_live(client, room, "7", django_capture_on_commit_callbacks).status_code == 302
    assert go_live(client, room, "8", django_capture_on_commit_callbacks).status_code == 403
    stream = Stream.objects.get(room=room)
    # The worker running the task again (a retry, a redelivery after a lost ack).
    notify_live_started.delay(stream_id=stream.pk)
    notify_live_started.delay(stream_id=stream.pk)

    assert sorted(live_alerts().values_list("recipient_id", flat=True)) == sorted(f.pk for f in followers)
    alert = live_alerts().first()
    assert (alert.stream_id, alert.room_id, alert.actor_id) == (stream.pk, room.pk, room.owner_id)
    assert room.title in alert.message


def test_followers_with_the_bell_off_get_no_alert(
    client, room, bell_off, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, "1", django_capture_on_commit_callbacks)
    assert not live_alerts(recipient=bell_off).exists()


def test_a_quick_reconnect_is_not_announced_again(
    client, room, followers, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, "1", django_capture_on_commit_callbacks)
    end(client, room, "1", django_capture_on_commit_callbacks)
    go_live(client, room, "2", django_capture_on_commit_callbacks)
    assert Stream.objects.filter(room=room).count() == 2
    assert live_alerts().count() == len(followers)
    assert live_alerts(recipient=followers[0]).get().stream.client_id == "1"


def test_a_replaced_stale_stream_is_a_reconnect_too(
    client, room, followers, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, "1", django_capture_on_commit_callbacks)
    # The ingest vanished without publish_done; the encoder comes back through another nginx worker.
    Stream.objects.filter(room=room).update(last_heartbeat_at=timezone.now() - timedelta(minutes=1))
    assert go_live(client, room, "2", django_capture_on_commit_callbacks).status_code == 302
    assert live_alerts().count() == len(followers)


def test_going_live_again_after_a_longer_break_is_announced(
    client, room, followers, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, "1", django_capture_on_commit_callbacks)
    end(client, room, "1", django_capture_on_commit_callbacks)
    earlier = timezone.now() - timedelta(minutes=3)
    Stream.objects.filter(room=room).update(started_at=earlier - timedelta(hours=1), ended_at=earlier)
    go_live(client, room, "2", django_capture_on_commit_callbacks)
    assert live_alerts().count() == 2 * len(followers)
    assert live_alerts(recipient=followers[0]).values("stream").distinct().count() == 2


def test_an_ended_or_unknown_stream_is_not_announced(room, followers):
    ended = Stream.objects.create(
        room=room,
        started_at=timezone.now() - timedelta(hours=1),
        status=Stream.Status.ENDED,
        ended_at=timezone.now(),
    )
    assert notify_live_started(stream_id=ended.pk) == 0
    assert notify_live_started(stream_id=ended.pk + 1000) == 0
    assert not live_alerts().exists()


def test_alerts_are_stored_even_when_pushes_fail(room, followers, settings):
    from streamlite.redis import redis_sync

    stream = Stream.objects.create(room=room, started_at=timezone.now(), client_id="1")
    # Nothing listens on port 1: every Redis call of the push path fails.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    redis_sync.cache_clear()
    try:
        assert notify_live_started(stream_id=stream.pk) == len(followers)
    finally:
        redis_sync.cache_clear()
    assert live_alerts(stream=stream).count() == len(followers)


class Rollback(Exception):
    pass


def test_followers_are_alerted_only_once_the_go_live_commits(
    client, room, followers, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert hook(client, "publish", room).status_code == 302
    assert not live_alerts().exists()
    for callback in callbacks:  # the commit
        callback()
    assert sorted(live_alerts().values_list("recipient_id", flat=True)) == sorted(f.pk for f in followers)


def test_a_rolled_back_go_live_alerts_nobody(
    client, room, followers, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Rollback), transaction.atomic():
        assert hook(client, "publish", room).status_code == 302
        raise Rollback
    assert not Stream.objects.exists()
    assert not live_alerts().exists()
