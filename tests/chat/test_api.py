"""Chat history and moderation over the REST API, and the staff chat log in the admin."""

import json
import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from chat.archive import outbox_flush
from chat.models import ChatBan
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.redis import keys, redis_sync
from tests.api.conftest import assert_error
from tests.factories import RoomFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def archived(mongo_archive, outbox_add):
    """A room with 7 archived messages (ids in order of sending), the 4th deleted."""
    room = RoomFactory()
    docs = [outbox_add(room_id=room.pk, text=f"<b>m{n}</b>") for n in range(7)]
    outbox_add(room_id=room.pk + 1000, text="another room")
    outbox_flush(consumer="t")
    mongo_archive[MESSAGES].update_one({"_id": docs[3]["_id"]}, {"$set": {"deleted": True}})
    return room, [doc["_id"] for doc in docs]


# --- history -------------------------------------------------------------------------------------


def test_history_is_newest_first_paginated_by_before_and_skips_deleted(archived):
    room, ids = archived
    url = f"/api/rooms/{room.pk}/messages/"
    first = client_for(None).get(url, {"limit": 3})
    assert first.status_code == 200
    page = first.json()
    assert [m["id"] for m in page] == [ids[6], ids[5], ids[4]]
    assert page[0] == {
        "id": ids[6],
        "user": {"username": "viewer", "display_name": "Viewer"},
        "text": "<b>m6</b>",
        "kind": "chat",
        "mode": None,
        "color": None,
        "size": None,
        "vpos_ms": None,
        "created_at": page[0]["created_at"],
    }
    second = client_for(None).get(url, {"limit": 3, "before": page[-1]["id"]}).json()
    assert [m["id"] for m in second] == [ids[2], ids[1], ids[0]]  # ids[3] was deleted
    assert client_for(None).get(url, {"before": ids[0]}).json() == []
    assert len(client_for(None).get(url).json()) == 6  # default limit 50


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"before": 0}, {"before": "1e3"}, {"before": 2**60}],
)
def test_history_refuses_bad_parameters(archived, params):
    room, _ids = archived
    response = client_for(None).get(f"/api/rooms/{room.pk}/messages/", params)
    assert_error(response, 400, "invalid", fields=tuple(params))


def test_history_of_a_missing_room_is_404(mongo_archive):
    assert_error(client_for(None).get("/api/rooms/999999/messages/"), 404, "not_found")


# --- moderation permissions on every endpoint ----------------------------------------------------


@pytest.fixture
def scene(mongo_archive, outbox_add):
    room = RoomFactory()
    moderator, target = UserFactory(), UserFactory(username="target")
    room.moderators.add(moderator)
    message = outbox_add(room_id=room.pk)
    # The pipeline keeps an accepted message in the room's recent list as it queues it for the archive.
    redis_sync().rpush(
        keys.chat_recent(room.pk), json.dumps({"type": "chat", "id": message["_id"], "text": "x"})
    )
    return {
        "room": room,
        "owner": room.owner,
        "moderator": moderator,
        "staff": StaffFactory(),
        "stranger": UserFactory(),
        "target": target,
        "message_id": message["_id"],
    }


def calls(scene) -> dict:
    """Each moderation endpoint as (method, url, body, success status)."""
    base = f"/api/rooms/{scene['room'].pk}"
    return {
        "delete": ("post", f"{base}/moderation/delete/", {"message_id": scene["message_id"]}, 204),
        "timeout": ("post", f"{base}/moderation/timeout/", {"username": "target", "minutes": 5}, 201),
        "ban": ("post", f"{base}/moderation/ban/", {"username": "target", "reason": "spam"}, 201),
        "unban": ("delete", f"{base}/moderation/ban/target/", None, 204),
        "settings-get": ("get", f"{base}/chat-settings/", None, 200),
        "settings": ("patch", f"{base}/chat-settings/", {"slow_mode_seconds": 5}, 200),
    }


def send(client: APIClient, method: str, url: str, body):
    return (
        getattr(client, method)(url, body, format="json")
        if body is not None
        else getattr(client, method)(url)
    )


@pytest.mark.parametrize("who", ["owner", "moderator", "staff"])
@pytest.mark.parametrize("endpoint", ["delete", "timeout", "ban", "unban", "settings-get", "settings"])
def test_owner_moderators_and_staff_may_moderate(scene, who, endpoint):
    method, url, body, expected = calls(scene)[endpoint]
    response = send(client_for(scene[who]), method, url, body)
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("endpoint", ["delete", "timeout", "ban", "unban", "settings-get", "settings"])
def test_strangers_get_403_and_anonymous_401(scene, endpoint):
    method, url, body, _expected = calls(scene)[endpoint]
    assert_error(send(client_for(scene["stranger"]), method, url, body), 403, "permission_denied")
    assert_error(send(client_for(None), method, url, body), 401, "not_authenticated")
    assert not ChatBan.objects.exists()


def test_moderator_appointment_is_for_the_owner_and_staff(scene):
    url = f"/api/rooms/{scene['room'].pk}/moderators/target/"
    assert_error(client_for(None).post(url), 401)
    assert_error(client_for(scene["stranger"]).post(url), 403)
    assert_error(client_for(scene["moderator"]).post(url), 403)
    assert client_for(scene["owner"]).post(url).status_code == 204
    assert scene["room"].moderators.filter(username="target").exists()
    assert client_for(scene["staff"]).delete(url).status_code == 204
    assert not scene["room"].moderators.filter(username="target").exists()
    assert_error(client_for(scene["owner"]).post(f"/api/rooms/{scene['room'].pk}/moderators/nobody/"), 404)
    owner_url = f"/api/rooms/{scene['room'].pk}/moderators/{scene['owner'].username}/"
    assert_error(client_for(scene["owner"]).post(owner_url), 400)


def test_timeout_and_ban_over_the_api_create_the_right_bans(scene):
    owner = client_for(scene["owner"])
    base = f"/api/rooms/{scene['room'].pk}/moderation"
    timeout = owner.post(f"{base}/timeout/", {"username": "target", "minutes": 1440}, format="json")
    assert timeout.status_code == 201
    assert timeout.json()["username"] == "target" and timeout.json()["expires_at"]
    ban = owner.post(f"{base}/ban/", {"username": "target", "reason": "spam"}, format="json").json()
    assert ban["expires_at"] is None and ban["reason"] == "spam" and ban["room"] == scene["room"].pk
    assert ChatBan.objects.filter(user=scene["target"], room=scene["room"]).count() == 2
    assert owner.delete(f"{base}/ban/target/").status_code == 204
    assert not ChatBan.objects.filter(user=scene["target"], expires_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("moderation/timeout/", {"username": "target", "minutes": 7}, "minutes"),
        ("moderation/timeout/", {"username": "nobody", "minutes": 5}, "username"),
        ("moderation/ban/", {}, "username"),
        ("moderation/delete/", {"message_id": "x"}, "message_id"),
        ("moderation/delete/", {"message_id": 10**9}, "message_id"),
    ],
)
def test_moderation_input_errors_are_400(scene, path, body, field):
    response = client_for(scene["owner"]).post(f"/api/rooms/{scene['room'].pk}/{path}", body, format="json")
    assert_error(response, 400, fields=(field,))


def test_chat_settings_patch_changes_the_rules(scene):
    url = f"/api/rooms/{scene['room'].pk}/chat-settings/"
    body = {
        "allow_comments": False,
        "slow_mode_seconds": 30,
        "comment_cooldown_ms": 2000,
        "blocked_words": ["Spam", "詐欺", "spam"],
        "danmaku_style_min_level": 5,
        "slow_mode_min_level": 3,
    }
    response = client_for(scene["owner"]).patch(url, body, format="json")
    assert response.status_code == 200
    assert response.json() == {**body, "blocked_words": ["spam", "詐欺"]}
    room = Room.objects.get(pk=scene["room"].pk)
    assert not room.allow_comments and room.slow_mode_seconds == 30 and room.blocked_words == "spam\n詐欺"
    assert (room.danmaku_style_min_level, room.slow_mode_min_level) == (5, 3)
    for field, value in (
        ("slow_mode_seconds", -1),
        ("danmaku_style_min_level", 101),
        ("slow_mode_min_level", "x"),
    ):
        bad = client_for(scene["owner"]).patch(url, {field: value}, format="json")
        assert_error(bad, 400, fields=(field,))


def test_delete_over_the_api_hides_the_message_from_history(scene):
    outbox_flush(consumer="t")
    room, message_id = scene["room"], scene["message_id"]
    assert [m["id"] for m in client_for(None).get(f"/api/rooms/{room.pk}/messages/").json()] == [message_id]
    response = client_for(scene["moderator"]).post(
        f"/api/rooms/{room.pk}/moderation/delete/", {"message_id": message_id}, format="json"
    )
    assert response.status_code == 204
    assert client_for(None).get(f"/api/rooms/{room.pk}/messages/").json() == []


# --- admin chat log -------------------------------------------------------------------------------


def test_admin_chat_log_searches_and_shows_text_escaped(client, archived, outbox_add):
    room, ids = archived
    doc = outbox_add(room_id=room.pk, text="needle (a+)+ here", username="searcher")
    outbox_flush(consumer="t")
    # Another consumer of the outbox (a test's Celery worker on this Redis) may have taken it: wait until
    # it is archived, whoever wrote it.
    deadline = time.monotonic() + 15
    while mongo_db()[MESSAGES].find_one({"_id": doc["_id"]}) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    staff = StaffFactory()
    client.force_login(staff)
    index = client.get(reverse("admin:index"))
    assert reverse("admin:chat_log") in index.content.decode()
    page = client.get(reverse("admin:chat_log"), {"room": room.pk, "text": "(A+)+", "username": "SEARCH"})
    assert page.status_code == 200
    body = page.content.decode()
    # m6 as the page would show it (escaped): a bare "m6" may be part of a random token in the page.
    assert "needle (a+)+ here" in body and "&lt;b&gt;m6&lt;/b&gt;" not in body
    everything = client.get(reverse("admin:chat_log"), {"room": room.pk}).content.decode()
    assert "&lt;b&gt;m6&lt;/b&gt;" in everything and "<b>m6</b>" not in everything
    assert "<del>&lt;b&gt;m3&lt;/b&gt;</del>" in everything  # deleted ones are shown, struck through
    bad = client.get(reverse("admin:chat_log"), {"room": "x", "since": "yesterday"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


def test_admin_chat_log_deletes_a_message(client, archived, mongo_archive):
    room, ids = archived
    client.force_login(StaffFactory())
    response = client.post(
        reverse("admin:chat_log"), {"room": room.pk, "message_id": ids[6], "next": "?room=1"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?room=1")
    assert mongo_archive[MESSAGES].find_one({"_id": ids[6]})["deleted"] is True


def test_admin_chat_log_is_refused_to_non_staff(client, mongo_archive):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:chat_log"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    client.logout()
    assert client.get(reverse("admin:chat_log")).status_code == 302
