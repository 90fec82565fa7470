import json

import pytest
from django.urls import reverse

from accounts.models import ActivityLog
from tests.factories import PASSWORD, CategoryFactory, RoomFactory

WRONG_PASSWORD = "not-the-Password-42"


def admin_login(client, username: str, password: str):
    return client.post(reverse("admin:login"), {"username": username, "password": password})


def row_text(entry: ActivityLog) -> str:
    return json.dumps(entry.detail) + str(entry)


@pytest.mark.django_db
def test_login_is_recorded_with_user_and_address(client, staff):
    admin_login(client, staff.username, PASSWORD)

    entry = ActivityLog.objects.get(action=ActivityLog.Action.LOGIN)
    assert entry.user == staff
    assert entry.ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_failed_login_keeps_the_attempted_name_and_never_the_password(client, user):
    response = admin_login(client, user.username, WRONG_PASSWORD)
    assert response.status_code == 200  # the form again, with its error

    entry = ActivityLog.objects.get(action=ActivityLog.Action.LOGIN_FAILED)
    assert entry.user == user
    assert entry.detail == {"username": user.username}
    assert WRONG_PASSWORD not in row_text(entry)
    assert not ActivityLog.objects.filter(action=ActivityLog.Action.LOGIN).exists()


@pytest.mark.django_db
def test_failed_login_for_an_unknown_name_has_no_user(client):
    admin_login(client, "ghost", WRONG_PASSWORD)

    entry = ActivityLog.objects.get(action=ActivityLog.Action.LOGIN_FAILED)
    assert entry.user is None
    assert entry.detail["username"] == "ghost"


@pytest.mark.django_db
def test_logout_is_recorded(client, staff):
    client.force_login(staff)
    client.post(reverse("admin:logout"))
    assert ActivityLog.objects.get(action=ActivityLog.Action.LOGOUT).user == staff


@pytest.mark.django_db
def test_stream_key_reset_by_staff_is_recorded_without_the_key(client, staff):
    room = RoomFactory()
    old_secret = room.stream_keys.get().secret
    client.force_login(staff)

    client.post(
        reverse("admin:rooms_room_changelist"),
        {"action": "reset_stream_key", "_selected_action": [room.pk]},
    )

    new_secret = room.stream_keys.get(revoked_at__isnull=True).secret
    reset = ActivityLog.objects.get(action=ActivityLog.Action.STREAM_KEY_RESET)
    staff_action = ActivityLog.objects.get(action=ActivityLog.Action.STAFF_ACTION)
    assert reset.user == staff and reset.detail["room_id"] == room.pk
    assert staff_action.detail == {"what": "stream_key_reset", "target": f"rooms.room:{room.pk}"}
    assert staff_action.ip_address == "127.0.0.1"
    for entry in ActivityLog.objects.all():
        assert old_secret not in row_text(entry) and new_secret not in row_text(entry)


@pytest.mark.django_db
def test_staff_edits_in_the_admin_are_recorded_with_field_names_only(client, staff):
    category = CategoryFactory(name="Games", slug="games")
    client.force_login(staff)

    response = client.post(
        reverse("admin:rooms_category_change", args=[category.pk]),
        {"name": "Retro games", "slug": "games", "description": "", "position": 0},
    )

    assert response.status_code == 302
    entry = ActivityLog.objects.get(action=ActivityLog.Action.STAFF_ACTION)
    assert entry.user == staff
    assert entry.detail["what"] == "change"
    assert entry.detail["target"] == f"rooms.category:{category.pk}"
    assert "Retro games" not in row_text(entry)
    assert "Name" in row_text(entry)
