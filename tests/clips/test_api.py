"""Clips through the API with real ffmpeg: of a live room's fragments and of a VOD range, their rules,
permissions, rate limit, danmaku window and the clip.created webhook."""

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from clips import media
from clips.models import Clip
from streams.models import Stream
from tests.api.conftest import assert_error
from tests.factories import LiveRoomFactory, UserFactory
from vod import services as vod_services

# Transactional: the clip job is enqueued on commit, and runs eagerly here through the real task.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_eager")]


def signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def stored_playlist_duration(clip: Clip, folder: Path) -> float:
    """ffprobe's duration of the stored clip, read back from storage as a player would get it."""
    prefix = clip.playlist_path.rsplit("/", 1)[0] + "/"
    _dirs, files = default_storage.listdir(prefix)
    for name in files:
        with default_storage.open(prefix + name, "rb") as stored:
            (folder / name).write_bytes(stored.read())
    return media.probe_duration(folder / "index.m3u8")


def test_a_live_clip_of_the_last_10_s_is_ready_and_lasts_10_s(live_room, tmp_path):
    room = live_room(seconds=20)
    viewer = UserFactory()
    response = signed_in(viewer).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json")
    assert response.status_code == 201, response.content
    body = APIClient().get(f"/api/clips/{response.json()['slug']}/").json()
    assert set(body) >= {
        "slug", "title", "status", "duration_s", "hls_url", "thumbnail_url", "room", "created_by",
        "view_count", "created_at",
    }  # fmt: skip
    assert body["status"] == "ready", body
    assert body["room"] == room.pk and body["created_by"]["username"] == viewer.username
    assert 9 <= body["duration_s"] <= 11
    assert body["thumbnail_url"]
    clip = Clip.objects.get(slug=body["slug"])
    assert 9 <= stored_playlist_duration(clip, tmp_path) <= 11
    # The clip is the end of what was live: its first frame is 10 s before the last fragment's end.
    assert clip.source == Clip.Source.LIVE and clip.stream.room_id == room.pk
    playlist = APIClient().get(f"/clips/{clip.slug}/playlist.m3u8")
    assert playlist.status_code == 200 and "#EXTINF" in playlist.content.decode()


def test_clip_lengths_outside_10_to_60_s_are_refused(live_room):
    room = live_room(seconds=3)
    client = signed_in(UserFactory())
    for seconds in (5, 61):
        assert_error(
            client.post(f"/api/rooms/{room.pk}/clips/", {"seconds": seconds}, format="json"),
            400,
            fields=("seconds",),
        )
    assert_error(client.post(f"/api/rooms/{room.pk}/clips/", {"seconds": "x"}, format="json"), 400)
    assert not Clip.objects.exists()


def test_anonymous_viewers_cannot_clip(live_room):
    room = live_room(seconds=3)
    assert_error(APIClient().post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json"), 401)


def test_a_room_with_clips_off_refuses_with_a_message(live_room):
    room = live_room(seconds=3, clips_allowed=False)
    error = assert_error(
        signed_in(UserFactory()).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json"),
        400,
        "clips_off",
    )
    assert "turned clips off" in error["message"]
    assert not Clip.objects.exists()


def test_an_idle_room_cannot_be_clipped_live(db):
    from tests.factories import RoomFactory

    room = RoomFactory()
    assert_error(
        signed_in(UserFactory()).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json"),
        400,
        "not_live",
    )


def test_clip_creation_is_rate_limited_per_user(live_room, settings):
    settings.CLIP_RATE_PER_HOUR = 2
    room = live_room(seconds=12)
    client = signed_in(UserFactory())
    for _ in range(2):
        assert client.post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json").status_code == 201
    assert_error(
        client.post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json"), 429, "throttled"
    )
    # Another user has an hour of their own.
    assert (
        signed_in(UserFactory())
        .post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json")
        .status_code
        == 201
    )


def test_a_vod_range_clip_lasts_the_range(recorded_stream, tmp_path):
    stream = recorded_stream(seconds=30)
    vod = vod_services.vod_process(stream=stream)
    assert vod.status == "ready"
    client = signed_in(UserFactory())
    response = client.post(f"/api/vods/{vod.pk}/clips/", {"start_s": 8, "end_s": 20}, format="json")
    assert response.status_code == 201, response.content
    clip = Clip.objects.get(slug=response.json()["slug"])
    assert clip.status == Clip.Status.READY, clip.failure_reason
    assert (clip.source, clip.vod_id, clip.start_ms) == (Clip.Source.VOD, vod.pk, 8000)
    assert 11 <= stored_playlist_duration(clip, tmp_path) <= 13
    assert_error(
        client.post(f"/api/vods/{vod.pk}/clips/", {"start_s": 20, "end_s": 8}, format="json"),
        400,
        fields=("end_s",),
    )
    assert_error(
        client.post(f"/api/vods/{vod.pk}/clips/", {"start_s": 0, "end_s": 100}, format="json"),
        400,
        fields=("end_s",),
    )


def test_only_the_maker_renames_and_the_streamer_moderators_and_staff_delete(live_room):
    from tests.factories import StaffFactory

    room = live_room(seconds=12)
    maker, moderator, stranger = UserFactory(), UserFactory(), UserFactory()
    room.moderators.add(moderator)
    slugs = [
        signed_in(maker).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json").json()["slug"]
        for _ in range(3)
    ]
    assert_error(signed_in(stranger).patch(f"/api/clips/{slugs[0]}/", {"title": "mine"}, format="json"), 403)
    assert_error(signed_in(room.owner).patch(f"/api/clips/{slugs[0]}/", {"title": "x"}, format="json"), 403)
    renamed = signed_in(maker).patch(f"/api/clips/{slugs[0]}/", {"title": "Best moment"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "Best moment"
    assert_error(signed_in(maker).patch(f"/api/clips/{slugs[0]}/", {"title": "x" * 101}, format="json"), 400)

    assert_error(signed_in(stranger).delete(f"/api/clips/{slugs[0]}/"), 403)
    assert_error(signed_in(maker).delete(f"/api/clips/{slugs[0]}/"), 403)
    prefix = Clip.objects.get(slug=slugs[0]).playlist_path.rsplit("/", 2)[0] + "/"
    assert signed_in(room.owner).delete(f"/api/clips/{slugs[0]}/").status_code == 204
    assert signed_in(moderator).delete(f"/api/clips/{slugs[1]}/").status_code == 204
    assert signed_in(StaffFactory()).delete(f"/api/clips/{slugs[2]}/").status_code == 204
    assert not Clip.objects.exists()
    assert not Path(django_settings.MEDIA_ROOT, prefix).exists() or not any(
        Path(django_settings.MEDIA_ROOT, prefix).rglob("*.ts")
    )
    assert_error(APIClient().get(f"/api/clips/{slugs[0]}/"), 404)


def test_list_by_room_shows_ready_clips(live_room):
    room = live_room(seconds=12)
    other = LiveRoomFactory()
    mine = signed_in(UserFactory()).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json")
    Clip.objects.create(
        room=other, created_by=None, title="x", source="live", requested_s=10, status="failed"
    )
    listed = APIClient().get(f"/api/clips/?room={room.pk}").json()
    assert [item["slug"] for item in listed["results"]] == [mine.json()["slug"]]
    assert APIClient().get("/api/clips/").json()["count"] == 1
    assert_error(APIClient().get("/api/clips/?room=abc"), 400, fields=("room",))


def test_the_clip_danmaku_are_its_window_on_its_own_time(live_room, mongo_isolated):
    room = live_room(seconds=12)
    # Live for a while: the clip starts well into the stream's timeline.
    Stream.objects.filter(room=room).update(started_at=timezone.now() - timedelta(seconds=100))
    body = (
        signed_in(UserFactory()).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json").json()
    )
    clip = Clip.objects.get(slug=body["slug"])
    base = {
        "stream": clip.stream_id,
        "kind": "danmaku",
        "deleted": False,
        "username": "u",
        "display_name": "U",
    }
    mongo_isolated["messages"].insert_many(
        [
            {**base, "_id": 1, "text": "before", "vpos_ms": clip.start_ms - 500},
            {**base, "_id": 2, "text": "inside", "vpos_ms": clip.start_ms + 2000},
            {**base, "_id": 3, "text": "after", "vpos_ms": clip.start_ms + 60_000},
        ]
    )
    assert 85_000 <= clip.start_ms <= 95_000
    window = APIClient().get(f"/api/clips/{clip.slug}/danmaku/?from_ms=0&to_ms=30000").json()
    assert [(d["text"], d["vpos_ms"]) for d in window["results"]] == [("inside", 2000)]
    assert_error(APIClient().get(f"/api/clips/{clip.slug}/danmaku/?from_ms=5&to_ms=1"), 400)


def test_fragments_are_copied_not_re_encoded(live_room, hls_root):
    room = live_room(seconds=12)
    signed_in(UserFactory()).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json")
    clip = Clip.objects.get()
    segment = Path(django_settings.MEDIA_ROOT, clip.playlist_path).parent / "seg_00000.ts"
    codec = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width",
         "-of", "csv=p=0", str(segment)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert set(codec.split()) == {"h264,320"}


def test_the_clip_page_shows_player_title_and_share(live_room, client):
    room = live_room(seconds=12)
    maker = UserFactory()
    body = signed_in(maker).post(f"/api/rooms/{room.pk}/clips/", {"seconds": 10}, format="json").json()
    page = client.get(f"/clips/{body['slug']}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f"/clips/{body['slug']}/playlist.m3u8" in text and f"/api/clips/{body['slug']}/danmaku/" in text
    assert 'property="og:title"' in text and "data-share" in text
    assert "data-clip-rename" not in text
    client.login(request=RequestFactory().post("/accounts/login/"), username=maker.username, password="pass")
    client.force_login(maker)
    assert "data-clip-rename" in client.get(f"/clips/{body['slug']}/").content.decode()
    assert client.get("/clips/nope/").status_code == 404
