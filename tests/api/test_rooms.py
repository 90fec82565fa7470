import pytest
from django.conf import settings

from accounts.models import SiteSettings
from rooms.models import Room, StreamKey
from streams.models import RoomRecord, Stream
from tests.api.conftest import assert_error
from tests.factories import (
    CategoryFactory,
    LiveRoomFactory,
    RoomFactory,
    StaffFactory,
    StreamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROOM_KEYS = {
    "id",
    "title",
    "owner",
    "status",
    "viewer_count",
    "cover_url",
    "category",
    "hls_url",
    "started_at",
    "preview_url",
}


def active_key(room) -> str:
    return StreamKey.objects.get(room=room, revoked_at__isnull=True).secret


def test_list_shows_rooms_in_the_contract_shape_live_first(api):
    idle = RoomFactory()
    live = LiveRoomFactory()
    response = api.get("/api/rooms/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    first, second = body["results"]
    assert set(first) == ROOM_KEYS
    assert first["id"] == live.pk and second["id"] == idle.pk
    assert first["owner"] == {
        "username": live.owner.username,
        "display_name": live.owner.display_name,
        "avatar_url": None,
    }
    assert first["status"] == "live"
    assert first["hls_url"] == f"{settings.HLS_PUBLIC_URL}/{live.public_name}.m3u8"
    stream = Stream.objects.get(room=live, status=Stream.Status.LIVE)
    assert first["started_at"].startswith(stream.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert second["status"] == "idle" and second["hls_url"] is None and second["started_at"] is None
    assert second["category"] == {"slug": idle.category.slug, "name": idle.category.name}


def test_list_filters_by_status_category_and_text(api):
    music = CategoryFactory(slug="music")
    live_music = LiveRoomFactory(category=music, title="Piano night")
    RoomFactory(category=music, title="Guitar")
    RoomFactory(title="Chess")
    ids = lambda query: [room["id"] for room in api.get("/api/rooms/", query).json()["results"]]  # noqa: E731
    assert ids({"status": "live"}) == [live_music.pk]
    assert len(ids({"status": "idle"})) == 2
    assert len(ids({"category": "music"})) == 2
    assert ids({"q": "piano"}) == [live_music.pk]
    assert ids({"q": live_music.owner.username}) == [live_music.pk]
    assert ids({"category": "music", "status": "idle", "q": "guitar"}) != []


def test_list_refuses_an_unknown_status(api):
    assert_error(api.get("/api/rooms/", {"status": "banana"}), 400, fields=("status",))


def test_list_refuses_a_page_that_does_not_exist(api):
    assert_error(api.get("/api/rooms/", {"page": "abc"}), 404, "not_found")


@pytest.mark.parametrize("count", [5, 30])
def test_list_query_count_does_not_grow_with_rooms(api, count, django_assert_num_queries):
    for index in range(count):
        (LiveRoomFactory if index % 2 else RoomFactory)()
    with django_assert_num_queries(2):  # count + page
        response = api.get("/api/rooms/")
    assert response.json()["count"] == count


def test_create_opens_a_room_with_a_key_for_the_user(auth_api, user):
    category = CategoryFactory()
    response = auth_api(user).post(
        "/api/rooms/", {"title": "My room", "category": category.slug}, format="json"
    )
    assert response.status_code == 201, response.content
    room = Room.objects.get(owner=user)
    assert response.json()["id"] == room.pk and response.json()["category"]["slug"] == category.slug
    assert StreamKey.objects.filter(room=room, revoked_at__isnull=True).exists()
    assert active_key(room) not in response.content.decode()


def test_create_beyond_the_room_quota_is_refused_with_a_message(auth_api, user):
    RoomFactory(owner=user)
    error = assert_error(
        auth_api(user).post("/api/rooms/", {"title": "Second"}, format="json"), 400, "room_quota"
    )
    assert "rooms" in error["message"]
    assert Room.objects.filter(owner=user).count() == 1


def test_create_refuses_bad_input(auth_api, user):
    client = auth_api(user)
    assert_error(client.post("/api/rooms/", {"title": "x" * 101}, format="json"), 400, fields=("title",))
    assert_error(
        client.post("/api/rooms/", {"title": "ok", "category": "nope"}, format="json"),
        400,
        fields=("category",),
    )
    assert_error(client.post("/api/rooms/", {"title": ["a", "b"]}, format="json"), 400, fields=("title",))
    assert not Room.objects.exists()


def test_create_needs_authentication(api):
    assert_error(api.post("/api/rooms/", {"title": "x"}, format="json"), 401, "not_authenticated")


def test_create_waits_for_approval_when_the_site_asks_streamers_to_apply(auth_api, user):
    SiteSettings.objects.update_or_create(pk=1, defaults={"streamers_need_approval": True})
    assert_error(auth_api(user).post("/api/rooms/", {"title": "x"}, format="json"), 403, "permission_denied")


def test_detail_shows_the_room(api):
    room = LiveRoomFactory()
    response = api.get(f"/api/rooms/{room.pk}/")
    assert response.status_code == 200
    assert set(response.json()) >= ROOM_KEYS
    assert response.json()["started_at"] is not None


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999999"])
def test_detail_of_a_missing_room_is_404(api, pk):
    assert_error(api.get(f"/api/rooms/{pk}/"), 404, "not_found")


def test_owner_edits_the_room(auth_api):
    room = RoomFactory()
    response = auth_api(room.owner).patch(
        f"/api/rooms/{room.pk}/", {"title": "New title", "category": None}, format="json"
    )
    assert response.status_code == 200
    room.refresh_from_db()
    assert room.title == "New title" and room.category is None


def test_staff_edits_any_room(auth_api):
    room = RoomFactory()
    response = auth_api(StaffFactory()).patch(
        f"/api/rooms/{room.pk}/", {"allow_comments": False}, format="json"
    )
    assert response.status_code == 200
    room.refresh_from_db()
    assert room.allow_comments is False


def test_other_users_and_anonymous_cannot_edit(api, auth_api):
    room = RoomFactory(title="Original")
    assert_error(
        auth_api(UserFactory()).patch(f"/api/rooms/{room.pk}/", {"title": "Mine"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(api.patch(f"/api/rooms/{room.pk}/", {"title": "Mine"}, format="json"), 401)
    room.refresh_from_db()
    assert room.title == "Original"


def test_edit_refuses_an_overlong_title(auth_api):
    room = RoomFactory()
    assert_error(
        auth_api(room.owner).patch(f"/api/rooms/{room.pk}/", {"title": "x" * 101}, format="json"),
        400,
        fields=("title",),
    )


def test_edit_cannot_touch_status_or_counts(auth_api):
    room = RoomFactory()
    auth_api(room.owner).patch(
        f"/api/rooms/{room.pk}/", {"status": "live", "viewer_count": 99}, format="json"
    )
    room.refresh_from_db()
    assert (room.status, room.viewer_count) == (Room.Status.IDLE, 0)


def test_owner_reads_the_stream_key(auth_api):
    room = RoomFactory()
    response = auth_api(room.owner).get(f"/api/rooms/{room.pk}/stream-key/")
    assert response.status_code == 200
    assert response.json() == {"rtmp_url": settings.RTMP_PUBLIC_URL, "stream_key": active_key(room)}


def test_nobody_else_reads_the_stream_key(api, auth_api):
    room = RoomFactory()
    url = f"/api/rooms/{room.pk}/stream-key/"
    for response in (auth_api(UserFactory()).get(url), auth_api(StaffFactory()).get(url)):
        assert_error(response, 403, "permission_denied")
        assert active_key(room) not in response.content.decode()
    assert_error(api.get(url), 401)


def test_owner_resets_the_stream_key(auth_api):
    room = RoomFactory()
    old = active_key(room)
    response = auth_api(room.owner).post(f"/api/rooms/{room.pk}/stream-key/reset/")
    assert response.status_code == 200
    new = active_key(room)
    assert new != old and response.json()["stream_key"] == new
    assert StreamKey.objects.get(secret=old).revoked_at is not None


def test_others_cannot_reset_the_stream_key(api, auth_api):
    room = RoomFactory()
    old = active_key(room)
    assert_error(auth_api(UserFactory()).post(f"/api/rooms/{room.pk}/stream-key/reset/"), 403)
    assert_error(api.post(f"/api/rooms/{room.pk}/stream-key/reset/"), 401)
    assert active_key(room) == old


def test_the_stream_key_is_in_no_other_response(api, auth_api):
    room = LiveRoomFactory()
    secret = active_key(room)
    owner_client = auth_api(room.owner)
    for response in (
        api.get("/api/rooms/"),
        api.get(f"/api/rooms/{room.pk}/"),
        owner_client.get("/api/rooms/"),
        owner_client.get(f"/api/rooms/{room.pk}/"),
        owner_client.get(f"/api/users/{room.owner.username}/"),
        owner_client.get("/api/me/"),
        owner_client.patch(f"/api/rooms/{room.pk}/", {"title": "Renamed"}, format="json"),
    ):
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert room.stream_keys.first().secret_digest not in response.content.decode()


def test_records_list_ended_streams_with_their_stats(api):
    room = LiveRoomFactory()  # its open stream has a record still running: not listed
    ended = StreamFactory(room=room)
    RoomRecord.objects.create(
        room=room,
        stream=ended,
        started_at=ended.started_at,
        ended_at=ended.ended_at,
        unique_viewers=12,
        peak_viewers=7,
        total_comments=40,
        avg_watch_seconds=300,
    )
    response = api.get(f"/api/rooms/{room.pk}/records/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1
    assert results[0]["duration_s"] == 3600
    assert (results[0]["unique_viewers"], results[0]["peak_viewers"], results[0]["total_comments"]) == (
        12,
        7,
        40,
    )


def test_records_of_a_missing_room_is_404(api):
    assert_error(api.get("/api/rooms/424242/records/"), 404)


def test_the_stream_key_response_is_never_cached(auth_api):
    room = RoomFactory()
    assert "no-store" in auth_api(room.owner).get(f"/api/rooms/{room.pk}/stream-key/")["Cache-Control"]
