import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from tests.factories import FollowFactory, LiveRoomFactory, RoomFactory, UserFactory, VodFactory

pytestmark = pytest.mark.django_db


def notify(recipient, n: int = 1, **fields):
    room = fields.pop("room", None) or RoomFactory()
    return Notification.objects.bulk_create(
        Notification(
            recipient=recipient,
            kind=Notification.Kind.SYSTEM,
            actor=room.owner,
            room=room,
            vod=VodFactory(room=room),
            message=f"Note {i}",
            **fields,
        )
        for i in range(n)
    )


def test_list_page_needs_login(client):
    response = client.get(reverse("notifications"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_list_page_shows_mine_newest_first_and_escapes_user_text(client, user):
    room = RoomFactory(title="<script>alert(1)</script>")
    Notification.objects.create(recipient=user, kind="system", message="Older")
    Notification.objects.create(recipient=user, kind="live_started", room=room, message=f"Live: {room.title}")
    Notification.objects.create(recipient=UserFactory(), kind="system", message="Somebody else's")
    client.force_login(user)
    body = client.get(reverse("notifications")).content.decode()
    assert body.index("Live: &lt;script&gt;") < body.index("Older")
    assert "<script>alert(1)" not in body
    assert "Somebody else" not in body


@pytest.mark.parametrize("count", [5, 50])
def test_list_page_query_count_does_not_grow_with_its_length(client, user, count, django_assert_num_queries):
    notify(user, count)
    client.force_login(user)
    # Session, user, the menu's categories, the count, one page with actor, room and VOD joined.
    with django_assert_num_queries(5):
        assert client.get(reverse("notifications")).status_code == 200


@pytest.mark.parametrize("count", [5, 50])
def test_api_list_query_count_does_not_grow_with_its_length(user, count, django_assert_num_queries):
    notify(user, count)
    api = APIClient()
    api.force_authenticate(user)
    with django_assert_num_queries(2):
        assert api.get("/api/notifications/").status_code == 200


def test_mark_one_read_and_mark_all_read_are_post_forms(client, user):
    first, second, third = notify(user, 3)
    client.force_login(user)
    response = client.post(reverse("notifications_read"), {"id": first.pk})
    assert response.status_code == 302
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)) == {
        second.pk,
        third.pk,
    }
    client.post(reverse("notifications_read"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert client.get(reverse("notifications_read")).status_code == 405


def test_marking_someone_elses_notification_has_no_effect(client, user):
    (theirs,) = notify(UserFactory())
    client.force_login(user)
    client.post(reverse("notifications_read"), {"id": theirs.pk})
    client.post(reverse("notifications_read"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("bad", ["x", "-1", str(2**70)])
def test_marking_with_a_malformed_id_is_a_400(client, user, bad):
    notify(user)
    client.force_login(user)
    response = client.post(reverse("notifications_read"), {"id": bad})
    assert response.status_code == 400
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_mark_read_goes_back_only_to_this_site(client, user):
    client.force_login(user)
    ok = client.post(reverse("notifications_read"), {"next": "/notifications/?page=2"})
    assert ok["Location"] == "/notifications/?page=2"
    evil = client.post(reverse("notifications_read"), {"next": "https://evil.example/"})
    assert evil["Location"] == reverse("notifications")


def test_unread_counts_follow_reads(user):
    from notifications.selectors import notifications_unread_count
    from notifications.services import notifications_mark_read

    notes = notify(user, 3)
    notify(UserFactory(), 2)
    assert notifications_unread_count(user_id=user.pk) == 3
    notifications_mark_read(user=user, ids=[notes[0].pk])
    assert notifications_unread_count(user_id=user.pk) == 2


def test_following_page_lists_live_streamers_first(client, user, django_assert_max_num_queries):
    idle = FollowFactory(follower=user, followed=RoomFactory(title="Idle room").owner).followed
    live = FollowFactory(follower=user, followed=LiveRoomFactory(title="Live room").owner).followed
    FollowFactory(follower=user, followed=RoomFactory().owner, notify=False)
    FollowFactory(followed=RoomFactory(title="Not mine").owner)
    client.force_login(user)
    with django_assert_max_num_queries(6):
        body = client.get(reverse("following")).content.decode()
    assert body.index(live.shown_name) < body.index(idle.shown_name)
    assert "Live room" in body and "Idle room" in body and "Not mine" not in body
    assert body.count('data-notify="false"') == 1


def test_following_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("following"))
    assert response.status_code == 200
    assert reverse("login") in response.content.decode()


def test_prune_drops_only_read_notifications_older_than_90_days(user):
    from datetime import timedelta

    from notifications.tasks import notifications_prune

    old_read, old_unread, new_read = notify(user, 3)
    long_ago = timezone.now() - timedelta(days=91)
    Notification.objects.filter(pk__in=[old_read.pk, old_unread.pk]).update(created_at=long_ago)
    Notification.objects.filter(pk__in=[old_read.pk, new_read.pk]).update(read_at=timezone.now())
    assert notifications_prune() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {old_unread.pk, new_read.pk}


def test_each_item_links_to_its_own_vod_or_room(client, user):
    room = RoomFactory()
    Notification.objects.create(recipient=user, kind="live_started", room=room, message="Room alert")
    vod = VodFactory(room=room)
    Notification.objects.create(recipient=user, kind="new_vod", room=room, vod=vod, message="Video alert")
    client.force_login(user)
    body = "".join(client.get(reverse("notifications")).content.decode().split())
    # The VOD alert comes first (newest); its link must not leak into the room alert after it.
    assert f'href="/rooms/{room.pk}/">Roomalert' in body
