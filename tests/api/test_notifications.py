import pytest

from notifications.models import Notification
from tests.api.conftest import assert_error
from tests.factories import RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def notify(recipient, **kwargs) -> Notification:
    kwargs.setdefault("kind", Notification.Kind.SYSTEM)
    kwargs.setdefault("message", "Hello")
    return Notification.objects.create(recipient=recipient, **kwargs)


def test_list_shows_only_my_notifications_newest_first(auth_api, user):
    room = RoomFactory()
    older = notify(user, kind=Notification.Kind.LIVE_STARTED, actor=room.owner, room=room, message="Live!")
    newer = notify(user)
    notify(UserFactory(), message="Not yours")
    response = auth_api(user).get("/api/notifications/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [n["id"] for n in results] == [newer.pk, older.pk]
    assert set(results[1]) == {"id", "kind", "message", "actor", "room", "vod", "read_at", "created_at"}
    assert results[1]["kind"] == "live_started"
    assert results[1]["actor"]["username"] == room.owner.username
    assert results[1]["room"] == {"id": room.pk, "title": room.title}
    assert results[1]["vod"] is None and results[1]["read_at"] is None


def test_list_needs_authentication(api):
    assert_error(api.get("/api/notifications/"), 401)


def test_read_marks_only_the_given_ids_of_mine(auth_api, user):
    mine, other_mine = notify(user), notify(user)
    theirs = notify(UserFactory())
    response = auth_api(user).post("/api/notifications/read/", {"ids": [mine.pk, theirs.pk]}, format="json")
    assert response.status_code == 200 and response.json() == {"marked": 1}
    mine.refresh_from_db(), other_mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.read_at is not None
    assert other_mine.read_at is None and theirs.read_at is None


def test_read_without_ids_marks_all_mine(auth_api, user):
    notify(user), notify(user)
    theirs = notify(UserFactory())
    response = auth_api(user).post("/api/notifications/read/", {}, format="json")
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize("ids", ["all", ["x"], [10**30], [-1], {"a": 1}])
def test_read_refuses_malformed_ids(auth_api, user, ids):
    notify(user)
    assert_error(
        auth_api(user).post("/api/notifications/read/", {"ids": ids}, format="json"), 400, fields=("ids",)
    )
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_read_needs_authentication(api):
    assert_error(api.post("/api/notifications/read/", {}, format="json"), 401)
