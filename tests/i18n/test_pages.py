"""Every page renders in each language: the right lang attribute, the navigation in that language, no 500."""

import pytest
from django.conf import settings
from django.utils.html import escape

from notifications.models import Notification
from tests.factories import CategoryFactory, LiveRoomFactory, RoomFactory, UserFactory, VodFactory
from tests.i18n.conftest import translated

pytestmark = pytest.mark.django_db

NAV_SENTENCE = "Categories"  # in the navigation bar of every page


@pytest.fixture
def world():
    category = CategoryFactory()
    streamer = UserFactory(display_name="张伟")
    live = LiveRoomFactory(owner=streamer, category=category, title="Phở và cà phê 직캠")
    idle = RoomFactory(category=category)
    vod = VodFactory(room=live, title="지난 방송")
    viewer = UserFactory()
    Notification.objects.create(
        recipient=viewer, kind=Notification.Kind.NEW_FOLLOWER, actor=streamer, message="x"
    )
    return {
        "category": category,
        "streamer": streamer,
        "live": live,
        "idle": idle,
        "vod": vod,
        "viewer": viewer,
    }


def pages(world) -> list[tuple[str, str | None, int]]:
    """(url, who is logged in, expected status) for every page of DESIGN §3."""
    streamer = world["streamer"].username
    return [
        ("/", None, 200),
        (f"/c/{world['category'].slug}/", None, 200),
        ("/search/?q=Ph%E1%BB%9F", None, 200),
        (f"/rooms/{world['live'].pk}/", None, 200),
        (f"/rooms/{world['idle'].pk}/", "viewer", 200),
        (f"/u/{streamer}/", None, 200),
        ("/accounts/profile/", "viewer", 200),
        ("/accounts/signup/", None, 200),
        ("/accounts/login/", None, 200),
        ("/dashboard/", "streamer", 200),
        (f"/vods/{world['vod'].pk}/", None, 200),
        ("/notifications/", "viewer", 200),
        ("/following/", "viewer", 200),
        ("/no-such-page/", None, 404),
    ]


def test_every_page_renders_in_each_language(client, world, language):
    expected_nav = escape(translated(language, NAV_SENTENCE))
    if language != settings.LANGUAGE_CODE:
        assert expected_nav != NAV_SENTENCE, f"no {language} translation compiled for {NAV_SENTENCE!r}"
    for url, who, status in pages(world):
        client.logout()  # which forgets every cookie
        if who:
            client.force_login(world[who])
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get(url)
        assert response.status_code == status, url
        body = response.content.decode()
        assert f'<html lang="{language}">' in body, url
        assert expected_nav in body, url
        assert response["Content-Language"] == language, url


def test_notifications_are_said_in_the_readers_language(client, world):
    """The row was written in English when it was sent; a Korean reader reads it in Korean."""
    viewer, streamer = world["viewer"], world["streamer"]
    client.force_login(viewer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    expected = translated("ko", "%(name)s followed you.") % {"name": streamer.shown_name}
    assert expected != f"{streamer.shown_name} followed you."
    assert escape(expected) in client.get("/notifications/").content.decode()
    api = client.get("/api/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert api["results"][0]["message"] == expected
