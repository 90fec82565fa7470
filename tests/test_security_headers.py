"""Content-Security-Policy on every page, with nothing inline that it would have to allow."""

import re

import pytest

from tests.factories import LiveRoomFactory, UserFactory, VodFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+=", re.I)


def pages() -> list[str]:
    room = LiveRoomFactory()
    vod = VodFactory(room=room, playlist_path="vods/1/abc/index.m3u8")
    return [
        "/",
        f"/rooms/{room.pk}/",
        f"/u/{room.owner.username}/",
        f"/vods/{vod.pk}/",
        "/accounts/login/",
        "/accounts/signup/",
        "/dashboard/",
        "/notifications/",
        "/following/",
        "/api/docs/",
        "/admin/",
        "/no-such-page/",
    ]


def test_every_page_has_a_policy_without_unsafe_inline_scripts(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for path in pages():
        response = client.get(path, follow=True)
        policy = response["Content-Security-Policy"]
        script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src, path
        assert "default-src 'self'" in policy and "object-src 'none'" in policy, path
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body), (path, INLINE_SCRIPT.search(body)[0])
        assert not EVENT_HANDLER.search(body), (path, EVENT_HANDLER.search(body)[0])


def test_the_api_answers_carry_the_policy_too(client):
    assert "default-src 'self'" in client.get("/api/rooms/")["Content-Security-Policy"]
