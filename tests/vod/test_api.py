"""The VOD API: visibility, the owner's operations, view counting and danmaku replay windows."""

import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.api.conftest import assert_error
from tests.factories import CategoryFactory, StreamFactory, TagFactory, UserFactory, VodFactory
from vod.models import Vod

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def vods():
    ready = VodFactory(playlist_path="vods/1/abc/index.m3u8", stream=StreamFactory())
    room = ready.room
    others = {
        status: VodFactory(room=room, status=status)
        for status in (Vod.Status.PROCESSING, Vod.Status.FAILED, Vod.Status.HIDDEN)
    }
    return {"ready": ready, **others}


def ids(response) -> set[int]:
    return {item["id"] for item in response.json()["results"]}


def test_others_list_only_ready_vods_the_owner_lists_all(api, vods):
    room = vods["ready"].room
    assert ids(api.get(f"/api/vods/?room={room.pk}")) == {vods["ready"].pk}
    assert ids(signed_in(UserFactory()).get(f"/api/vods/?room={room.pk}")) == {vods["ready"].pk}
    assert ids(signed_in(room.owner).get(f"/api/vods/?room={room.pk}")) == {v.pk for v in vods.values()}
    VodFactory()  # another room's
    assert len(ids(api.get("/api/vods/"))) == 2


def test_list_rejects_a_malformed_room(api):
    assert_error(api.get("/api/vods/?room=abc"), 400, "invalid", fields=("room",))


def test_detail_has_the_design_shape(api, vods):
    vod = vods["ready"]
    body = api.get(f"/api/vods/{vod.pk}/").json()
    assert set(body) == {
        "id", "room", "title", "description", "category", "status", "progress", "duration_s", "hls_url",
        "thumbnail_url", "view_count", "created_at",
    }  # fmt: skip
    assert body["hls_url"] == f"http://testserver/vods/{vod.pk}/playlist.m3u8"
    assert (body["room"], body["status"]) == (vod.room_id, "ready")


@pytest.mark.parametrize("status", ["processing", "failed", "hidden"])
def test_unpublished_vods_are_not_found_for_others(api, vods, status):
    vod = vods[status]
    assert_error(api.get(f"/api/vods/{vod.pk}/"), 404, "not_found")
    assert_error(signed_in(UserFactory()).get(f"/api/vods/{vod.pk}/"), 404, "not_found")
    body = signed_in(vod.room.owner).get(f"/api/vods/{vod.pk}/").json()
    assert body["status"] == status and body["hls_url"] is None


def test_owner_sees_the_failure_reason(vods):
    vod = vods["failed"]
    Vod.objects.filter(pk=vod.pk).update(failure_reason="The recording file is empty.")
    assert signed_in(vod.room.owner).get(f"/api/vods/{vod.pk}/").json()["failure_reason"] == (
        "The recording file is empty."
    )


def test_owner_renames_hides_and_publishes(vods):
    vod = vods["ready"]
    owner = signed_in(vod.room.owner)
    assert (
        owner.patch(f"/api/vods/{vod.pk}/", {"title": "Best run"}, format="json").json()["title"]
        == "Best run"
    )
    assert (
        owner.patch(f"/api/vods/{vod.pk}/", {"status": "hidden"}, format="json").json()["status"] == "hidden"
    )
    assert_error(APIClient().get(f"/api/vods/{vod.pk}/"), 404)
    assert owner.patch(f"/api/vods/{vod.pk}/", {"status": "ready"}, format="json").json()["status"] == "ready"


def test_an_unprocessed_vod_cannot_be_published(vods):
    vod = vods["hidden"]  # hidden before it had a playlist
    response = signed_in(vod.room.owner).patch(f"/api/vods/{vod.pk}/", {"status": "ready"}, format="json")
    assert_error(response, 400, "not_ready")


def test_owner_describes_and_categorises_and_clears_the_category(vods):
    vod = vods["ready"]
    category = CategoryFactory(name="Speedruns", slug="speedruns")
    owner = signed_in(vod.room.owner)
    body = owner.patch(
        f"/api/vods/{vod.pk}/", {"description": "Any% in 41 min", "category": "speedruns"}, format="json"
    ).json()
    assert body["description"] == "Any% in 41 min"
    assert body["category"] == {"slug": "speedruns", "name": "Speedruns"}
    vod.refresh_from_db()
    assert (vod.description, vod.category) == ("Any% in 41 min", category)
    assert owner.patch(f"/api/vods/{vod.pk}/", {"category": None}, format="json").json()["category"] is None


def test_others_cannot_describe_a_vod(vods):
    vod = vods["ready"]
    response = signed_in(UserFactory()).patch(f"/api/vods/{vod.pk}/", {"description": "mine"}, format="json")
    assert_error(response, 403)
    vod.refresh_from_db()
    assert vod.description == ""


def test_list_filters_by_text_category_and_tag(api):
    fps = TagFactory(name="FPS", slug="fps")
    shooters = CategoryFactory(name="Shooters", slug="shooters")
    shooters.tags.add(fps)
    tagged = VodFactory(title="Ranked night", category=shooters)
    described = VodFactory(title="Chill", description="learning the piano")
    VodFactory(title="Other")
    assert ids(api.get("/api/vods/?tag=fps")) == {tagged.pk}
    assert ids(api.get("/api/vods/?category=shooters")) == {tagged.pk}
    assert ids(api.get("/api/vods/?q=PIANO")) == {described.pk}
    assert ids(api.get("/api/vods/?q=fps")) == {tagged.pk}  # a tag's name finds its categories' VODs
    assert ids(api.get(f"/api/vods/?q={tagged.room.owner.username}")) == {tagged.pk}
    assert_error(api.get("/api/vods/?tag=not%20a%20slug"), 400, fields=("tag",))


def test_bad_patch_input_is_a_400(vods):
    owner = signed_in(vods["ready"].room.owner)
    url = f"/api/vods/{vods['ready'].pk}/"
    assert_error(owner.patch(url, {"status": "failed"}, format="json"), 400, fields=("status",))
    assert_error(owner.patch(url, {"title": "x" * 101}, format="json"), 400, fields=("title",))
    assert_error(owner.patch(url, {"category": "no-such"}, format="json"), 400, fields=("category",))
    assert_error(owner.patch(url, {"description": "x" * 5001}, format="json"), 400, fields=("description",))


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("patch", "", {"title": "mine now"}),
        ("delete", "", None),
        ("post", "retry/", None),
    ],
)
def test_owner_operations_are_refused_to_others(vods, method, path, data):
    vod = vods["ready"]
    url = f"/api/vods/{vod.pk}/{path}"
    assert_error(getattr(APIClient(), method)(url, data, format="json"), 401, "not_authenticated")
    assert_error(
        getattr(signed_in(UserFactory()), method)(url, data, format="json"), 403, "permission_denied"
    )
    hidden_url = f"/api/vods/{vods['failed'].pk}/{path}"
    assert_error(getattr(signed_in(UserFactory()), method)(hidden_url, data, format="json"), 404)
    assert Vod.objects.filter(pk=vod.pk, title=vod.title).exists()


def test_owner_deletes_a_vod(vods):
    vod = vods["ready"]
    response = signed_in(vod.room.owner).delete(f"/api/vods/{vod.pk}/")
    assert response.status_code == 204
    assert not Vod.objects.filter(pk=vod.pk).exists()


def test_retry_only_for_failed_vods(vods, celery_eager, recordings_root, django_capture_on_commit_callbacks):
    owner = signed_in(vods["ready"].room.owner)
    assert_error(owner.post(f"/api/vods/{vods['ready'].pk}/retry/"), 400, "not_failed")
    failed = vods["failed"]
    failed.stream = StreamFactory(room=failed.room)  # its recording is gone: the retry fails again
    failed.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/api/vods/{failed.pk}/retry/")
    assert response.status_code == 200 and response.json()["status"] == "processing"
    failed.refresh_from_db()
    assert failed.status == Vod.Status.FAILED and "no recording" in failed.failure_reason


class TestViews:
    def test_a_viewer_counts_once_within_the_window_and_again_after_it(self, vods, settings):
        vod = vods["ready"]
        viewer = signed_in(UserFactory())
        assert viewer.post(f"/api/vods/{vod.pk}/view/").json() == {"counted": True, "view_count": 1}
        assert viewer.post(f"/api/vods/{vod.pk}/view/").json() == {"counted": False, "view_count": 1}
        settings.VOD_VIEW_WINDOW_S = 1
        cache.clear()
        assert viewer.post(f"/api/vods/{vod.pk}/view/").json()["view_count"] == 2
        assert viewer.post(f"/api/vods/{vod.pk}/view/").json()["counted"] is False
        time.sleep(1.2)
        assert viewer.post(f"/api/vods/{vod.pk}/view/").json() == {"counted": True, "view_count": 3}

    def test_anonymous_viewers_count_by_session(self, vods, client):
        vod = vods["ready"]
        client.get(f"/vods/{vod.pk}/")  # the page gives the anonymous viewer a session
        assert client.post(f"/api/vods/{vod.pk}/view/").json()["counted"] is True
        assert client.post(f"/api/vods/{vod.pk}/view/").json()["counted"] is False
        other = type(client)()
        other.get(f"/vods/{vod.pk}/")
        assert other.post(f"/api/vods/{vod.pk}/view/").json() == {"counted": True, "view_count": 2}

    def test_unplayable_vods_take_no_views(self, vods):
        vod = vods["processing"]
        assert_error(signed_in(vod.room.owner).post(f"/api/vods/{vod.pk}/view/"), 404)
        assert_error(APIClient().post("/api/vods/999999/view/"), 404)


def danmaku_doc(_id, stream_id, vpos_ms, **extra):
    return {
        "_id": _id, "room": 1, "stream": stream_id, "user": 1, "username": "ann", "display_name": "Ann",
        "text": f"comment {_id}", "kind": "danmaku", "mode": "scroll", "color": "#ffffff", "size": "normal",
        "lane": 0, "vpos_ms": vpos_ms, "created_at": datetime.now(UTC), "client_id": "c", "deleted": False,
        **extra,
    }  # fmt: skip


class TestDanmaku:
    @pytest.fixture
    def vod(self, vods, mongo_isolated):
        vod = vods["ready"]
        mongo_isolated.messages.insert_many(
            [
                danmaku_doc(1, vod.stream_id, 500),
                danmaku_doc(2, vod.stream_id, 1500),
                danmaku_doc(3, vod.stream_id, 2500, deleted=True),
                danmaku_doc(4, vod.stream_id, 2999),
                danmaku_doc(5, vod.stream_id, 3000),
                danmaku_doc(6, vod.stream_id + 1000, 1000),  # another stream's
                {**danmaku_doc(7, vod.stream_id, 1200), "kind": "chat"},
            ]
        )
        return vod

    def test_a_window_lists_its_danmaku_by_time_without_deleted_ones(self, api, vod):
        body = api.get(f"/api/vods/{vod.pk}/danmaku/?from_ms=1000&to_ms=3000").json()
        assert [item["id"] for item in body["results"]] == [2, 4]
        assert body["results"][0] == {
            "id": 2, "user": {"username": "ann", "display_name": "Ann"}, "text": "comment 2", "mode": "scroll",
            "color": "#ffffff", "size": "normal", "lane": 0, "vpos_ms": 1500,
        }  # fmt: skip
        assert body["truncated"] is False
        assert [i["id"] for i in api.get(f"/api/vods/{vod.pk}/danmaku/?from_ms=0&to_ms=600000").json()["results"]] == [
            1, 2, 4, 5,
        ]  # fmt: skip

    def test_a_window_is_capped(self, api, vod, mongo_isolated):
        mongo_isolated.messages.insert_many(
            [danmaku_doc(100 + n, vod.stream_id, 10_000) for n in range(2001)]
        )
        body = api.get(f"/api/vods/{vod.pk}/danmaku/?from_ms=9000&to_ms=11000").json()
        assert len(body["results"]) == 2000 and body["truncated"] is True

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "from_ms=5",
            "from_ms=-1&to_ms=10",
            "from_ms=10&to_ms=10",
            "from_ms=a&to_ms=b",
            "from_ms=0&to_ms=3600000",
        ],
    )
    def test_bad_windows_are_a_400(self, api, vod, query):
        assert_error(api.get(f"/api/vods/{vod.pk}/danmaku/?{query}"), 400, "invalid")

    def test_density_counts_danmaku_per_slice(self, api, vod):
        body = api.get(f"/api/vods/{vod.pk}/danmaku/density/?buckets=4").json()
        assert body["duration_ms"] == 3_600_000 and body["bucket_ms"] == 900_000
        assert body["counts"] == [4, 0, 0, 0]
        assert len(api.get(f"/api/vods/{vod.pk}/danmaku/density/").json()["counts"]) == 100
        assert_error(api.get(f"/api/vods/{vod.pk}/danmaku/density/?buckets=0"), 400, "invalid")

    def test_chat_replay_lists_the_chat_by_time_without_danmaku_or_deleted_ones(
        self, api, vod, mongo_isolated
    ):
        mongo_isolated.messages.insert_many(
            [
                {**danmaku_doc(20, vod.stream_id, 4000), "kind": "chat", "text": "gg"},
                {**danmaku_doc(21, vod.stream_id, 1300, deleted=True), "kind": "chat"},
            ]
        )
        body = api.get(f"/api/vods/{vod.pk}/chat/?from_ms=0&to_ms=600000").json()
        assert [item["id"] for item in body["results"]] == [7, 20]
        assert body["results"][1] == {
            "id": 20, "user": {"username": "ann", "display_name": "Ann"}, "text": "gg", "vpos_ms": 4000,
        }  # fmt: skip
        assert api.get(f"/api/vods/{vod.pk}/chat/?from_ms=1300&to_ms=4000").json()["results"] == []
        assert_error(
            api.get(f"/api/vods/{vod.pk}/chat/?from_ms=9&to_ms=9"), 400, "invalid", fields=("to_ms",)
        )

    def test_others_get_no_chat_of_unpublished_vods(self, api, vods, mongo_isolated):
        assert_error(api.get(f"/api/vods/{vods['hidden'].pk}/chat/?from_ms=0&to_ms=10"), 404)

    def test_others_get_no_danmaku_of_unpublished_vods(self, api, vods, mongo_isolated):
        assert_error(api.get(f"/api/vods/{vods['hidden'].pk}/danmaku/?from_ms=0&to_ms=10"), 404)


def test_the_list_costs_the_same_queries_whatever_its_length(django_assert_max_num_queries):
    owner_vod = VodFactory(playlist_path="vods/1/a/index.m3u8")
    client = signed_in(owner_vod.room.owner)
    for _n in range(10):
        VodFactory(room=owner_vod.room, status=Vod.Status.FAILED)
    # The signed-in user, the count, the page (rooms and owners joined), the page's rungs.
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/vods/?room={owner_vod.room.pk}")
    assert response.json()["count"] == 11
