"""Local media served by the site itself with DEBUG off, as `make run` serves it: VOD files only while the
VOD may be played, with the types players expect."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import UserFactory, VodFactory
from vod.models import Vod

pytestmark = pytest.mark.django_db


def stored(path: str, content: bytes = b"data") -> str:
    target = Path(settings.MEDIA_ROOT, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return f"{settings.MEDIA_URL}{path}"


def vod_with_files(**fields) -> tuple[Vod, str, str]:
    vod = VodFactory(**fields)
    prefix = f"vods/{vod.pk}/abc"
    vod.playlist_path = f"{prefix}/index.m3u8"
    vod.save(update_fields=["playlist_path"])
    stored(vod.playlist_path, b"#EXTM3U\n")
    return vod, stored(f"{prefix}/seg00000.ts", b"\x47" * 188), f"{settings.MEDIA_URL}{vod.playlist_path}"


def test_segments_of_a_ready_vod_are_served_as_mpeg_ts_with_debug_off(client):
    assert not settings.DEBUG
    _, segment, playlist = vod_with_files()

    response = client.get(segment)
    listing = client.get(playlist)

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp2t"
    assert b"".join(response.streaming_content) == b"\x47" * 188
    assert listing["Content-Type"] == "application/vnd.apple.mpegurl"


def test_segments_of_a_hidden_vod_are_not_found_except_for_its_owner(client):
    owner = UserFactory()
    _, segment, _ = vod_with_files(status=Vod.Status.HIDDEN, room__owner=owner)

    assert client.get(segment).status_code == 404
    client.force_login(UserFactory())
    assert client.get(segment).status_code == 404
    client.force_login(owner)
    assert client.get(segment).status_code == 200


def test_uploads_are_served_with_debug_off(client):
    avatar = stored("avatars/someone.png", b"\x89PNG")

    response = client.get(avatar)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_paths_outside_the_media_folder_are_not_served(client):
    assert client.get(f"{settings.MEDIA_URL}../manage.py").status_code in (400, 404)
