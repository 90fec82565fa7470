"""Embeds, overlays, oEmbed, link previews and live previews as pages and headers show them."""

import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.services import site_settings_get
from clips.models import Clip
from rooms.models import Room
from streams.models import Stream
from streams.previews import stream_preview_capture, stream_previews_capture
from tests.factories import LiveRoomFactory, RoomFactory, StreamFactory, UserFactory, VodFactory

pytestmark = pytest.mark.django_db


def frame_ancestors(response) -> str:
    policy = response["Content-Security-Policy"]
    return next(d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors"))


@pytest.fixture
def ready_clip(db):
    room = LiveRoomFactory()
    return Clip.objects.create(
        room=room,
        created_by=UserFactory(),
        title="A great moment",
        source="live",
        requested_s=10,
        duration_s=10.0,
        status="ready",
        playlist_path="clips/1/abc/index.m3u8",
    )


def embed_paths(clip: Clip) -> list[str]:
    vod = VodFactory(
        room=clip.room, playlist_path="vods/1/abc/index.m3u8", stream=StreamFactory(room=clip.room)
    )
    return [f"/embed/rooms/{clip.room_id}/", f"/embed/vods/{vod.pk}/", f"/embed/clips/{clip.slug}/"]


def test_embed_pages_may_be_framed_by_any_site_and_other_pages_by_none(client, ready_clip):
    for path in embed_paths(ready_clip):
        response = client.get(path)
        assert response.status_code == 200, path
        assert frame_ancestors(response) == "frame-ancestors *", path
        assert "X-Frame-Options" not in response, path
    for path in (f"/rooms/{ready_clip.room_id}/", f"/clips/{ready_clip.slug}/", "/"):
        assert frame_ancestors(client.get(path)) == "frame-ancestors 'none'", path


def test_a_site_setting_restricts_who_may_frame(client, ready_clip):
    row = site_settings_get()
    row.embed_allowed_origins = "https://blog.example.org\n\nhttps://news.example.com\n"
    row.save()
    response = client.get(f"/embed/clips/{ready_clip.slug}/")
    assert frame_ancestors(response) == (
        "frame-ancestors 'self' https://blog.example.org https://news.example.com"
    )


def test_embed_danmaku_only_when_asked(client, ready_clip):
    path = f"/embed/clips/{ready_clip.slug}/"
    assert "data-danmaku-url" not in client.get(path).content.decode()
    assert f"/api/clips/{ready_clip.slug}/danmaku/" in client.get(f"{path}?danmaku=1").content.decode()


def test_embeds_of_missing_or_unready_things_are_404(client, ready_clip):
    Clip.objects.filter(pk=ready_clip.pk).update(status="processing")
    assert client.get(f"/embed/clips/{ready_clip.slug}/").status_code == 404
    assert client.get("/embed/rooms/999999/").status_code == 404
    assert client.get(f"/embed/vods/{VodFactory(status='hidden').pk}/").status_code == 404


def test_overlays_are_framable_with_bounded_options(client):
    room = RoomFactory()
    for kind in ("chat", "danmaku"):
        response = client.get(f"/overlay/rooms/{room.pk}/{kind}/?font=500&fade=abc")
        text = response.content.decode()
        assert response.status_code == 200
        assert f'data-overlay="{kind}"' in text and 'data-font-px="72"' in text and 'data-fade-s="30"' in text
        assert frame_ancestors(response) == "frame-ancestors *"
    assert client.get("/overlay/rooms/999999/chat/").status_code == 404


def test_oembed_describes_rooms_vods_and_clips(client, ready_clip):
    room_page = f"http://testserver/rooms/{ready_clip.room_id}/"
    body = client.get("/oembed", {"url": room_page, "maxwidth": 480}).json()
    assert (body["type"], body["version"], body["width"], body["height"]) == ("video", "1.0", 480, 270)
    assert f'src="http://testserver/embed/rooms/{ready_clip.room_id}/"' in body["html"]
    clip_body = client.get("/oembed", {"url": f"http://testserver/clips/{ready_clip.slug}/"}).json()
    assert clip_body["title"] == "A great moment"
    assert f"/embed/clips/{ready_clip.slug}/" in clip_body["html"]


@pytest.mark.parametrize(
    ("url", "status"),
    [("", 400), ("http://elsewhere.example/rooms/1/", 404), ("http://testserver/accounts/login/", 404),
     ("http://testserver/rooms/999999/", 404), ("x" * 3000, 400)],
)  # fmt: skip
def test_oembed_refuses_what_it_cannot_embed_in_the_error_shape(client, url, status):
    response = client.get("/oembed", {"url": url})
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_link_previews_on_room_vod_clip_and_profile(client, ready_clip):
    vod = VodFactory(room=ready_clip.room, playlist_path="vods/1/abc/index.m3u8", stream=StreamFactory())
    for path in (
        f"/rooms/{ready_clip.room_id}/",
        f"/vods/{vod.pk}/",
        f"/clips/{ready_clip.slug}/",
        f"/u/{ready_clip.room.owner.username}/",
    ):
        text = client.get(path).content.decode()
        assert '<meta property="og:title"' in text, path
        assert f'<meta property="og:url" content="http://testserver{path}">' in text, path
        assert 'name="twitter:card"' in text, path
    room_page = client.get(f"/rooms/{ready_clip.room_id}/").content.decode()
    assert 'name="twitter:player" content="http://testserver/embed/rooms/' in room_page
    assert 'type="application/json+oembed"' in room_page


def test_the_room_api_shows_a_preview_only_while_live(client):
    room = LiveRoomFactory()
    name = default_storage.save(f"previews/{room.pk}/x.jpg", ContentFile(b"jpeg"))
    Room.objects.filter(pk=room.pk).update(preview=name)
    assert client.get(f"/api/rooms/{room.pk}/").json()["preview_url"].endswith(name)
    assert client.get("/api/rooms/?status=live").json()["results"][0]["preview_url"].endswith(name)
    Room.objects.filter(pk=room.pk).update(status=Room.Status.IDLE)
    assert client.get(f"/api/rooms/{room.pk}/").json()["preview_url"] is None


def test_a_live_preview_is_a_fresh_frame_of_the_newest_fragment(live_room):
    room = live_room(seconds=4)
    stream = Stream.objects.get(room=room)
    first = stream_preview_capture(stream=stream)
    time.sleep(0.01)
    stream.refresh_from_db()
    second = stream_preview_capture(stream=stream)
    assert first and second and first != second
    assert not default_storage.exists(first)  # the older frame is not kept
    with default_storage.open(second, "rb") as frame:
        assert frame.read(3) == b"\xff\xd8\xff"  # a JPEG
    room.refresh_from_db()
    stream.refresh_from_db()
    assert room.preview.name == stream.preview.name == second
    assert stream_previews_capture() == 1


def test_no_fragment_no_preview(db, hls_root):
    room = LiveRoomFactory()
    assert stream_preview_capture(stream=Stream.objects.get(room=room)) is None
    assert not Room.objects.get(pk=room.pk).preview


def test_cards_show_the_live_preview_and_uptime(client):
    room = LiveRoomFactory()
    name = default_storage.save(f"previews/{room.pk}/y.jpg", ContentFile(b"jpeg"))
    Room.objects.filter(pk=room.pk).update(preview=name)
    text = client.get("/").content.decode()
    assert f'src="/media/{name}"' in text and "data-live-preview" in text
    assert "card__duration" in text


def test_the_dashboard_shows_the_overlay_urls(client):
    room = RoomFactory()
    client.force_login(room.owner)
    text = client.get("/dashboard/").content.decode()
    assert f"/overlay/rooms/{room.pk}/chat/" in text and f"/overlay/rooms/{room.pk}/danmaku/" in text
