"""The room page as a viewer sees it in Chromium: heading badge, player controls, layout on a phone."""

import signal

import pytest

from rooms.selectors import stream_key_active
from tests.e2e.test_ingest import ingest, publishers, wait_idle, wait_live  # noqa: F401 (fixtures)
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def refused(response) -> bool:
    # The player asks for the playlist until nginx has written it: those 404s are expected.
    return response.status >= 400 and "/hls/" not in response.url


def watch(page, url: str) -> list[str]:
    """Open ``url``; the returned list collects the page's script errors and refused requests."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response", lambda response: refused(response) and errors.append(f"{response.status} {response.url}")
    )
    page.goto(url)
    return errors


def test_heading_badge_and_uptime_follow_a_stream_that_starts_and_ends_after_the_page_opened(
    ingest,  # noqa: F811
    publishers,  # noqa: F811
    chromium,  # noqa: F811
):
    room = RoomFactory()
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    errors = watch(page, f"{ingest.web_url}/rooms/{room.pk}/")
    page.wait_for_selector("[data-chat-status][data-state=connected]", timeout=15_000)
    assert page.is_visible(".room__meta .badge--offline")
    assert not page.is_visible(".room__meta .badge--live")

    ffmpeg = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    page.wait_for_selector(".room__meta .badge--live", state="visible", timeout=15_000)
    assert not page.is_visible(".room__meta .badge--offline")
    page.wait_for_function("() => /viewer/.test(document.querySelector('[data-room-viewers]').textContent)")
    # The uptime appears and ticks although room_state carried no start time.
    page.wait_for_function(
        "() => /^\\d\\d:\\d\\d$/.test(document.querySelector('[data-player-uptime]').textContent)"
    )
    first = page.text_content("[data-player-uptime]")
    page.wait_for_timeout(2_100)
    assert page.text_content("[data-player-uptime]") != first

    ffmpeg.send_signal(signal.SIGINT)
    ffmpeg.wait(timeout=10)
    wait_idle(room)
    page.wait_for_selector(".room__meta .badge--offline", state="visible", timeout=15_000)
    assert not page.is_visible(".room__meta .badge--live")
    assert not page.is_visible("[data-room-viewers]")
    assert errors == []


def test_theater_mode_is_remembered_and_fullscreen_keeps_the_danmaku(ingest, publishers, chromium):  # noqa: F811
    room = RoomFactory()
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors = watch(page, f"{ingest.web_url}/rooms/{room.pk}/")
    page.wait_for_function("() => document.querySelector('#player video').currentTime > 0.5", timeout=30_000)
    normal_height = page.locator("#player").bounding_box()["height"]

    page.keyboard.press("t")
    assert page.get_attribute("html", "data-theater") == "true"
    assert not page.is_visible(".topbar")
    assert page.locator("#player").bounding_box()["height"] > normal_height
    page.screenshot(path=str(ARTIFACTS / "room-theater.png"))

    again = context.new_page()
    errors += watch(again, f"{ingest.web_url}/rooms/{room.pk}/")
    assert again.get_attribute("html", "data-theater") == "true"
    again.click("[data-player-action=theater]")
    assert again.get_attribute("html", "data-theater") is None
    assert again.is_visible(".topbar")

    again.click("[data-player-action=fullscreen]")
    again.wait_for_function("() => document.fullscreenElement?.id === 'player'")
    assert again.evaluate("!!document.fullscreenElement.querySelector('.danmaku-layer')")
    assert again.evaluate("!!document.fullscreenElement.querySelector('.danmaku-controls')")
    again.keyboard.press("?")
    assert again.is_visible("#player [data-player-help]")
    again.screenshot(path=str(ARTIFACTS / "room-fullscreen-help.png"))
    assert errors == []


LANGUAGES = ("en", "zh-hans", "ko", "vi")
# The elements that stick out past the window's right edge (a sideways scroll on a phone).
WIDER_THAN = """(width) => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > width + 1)
  .map((el) => `${el.tagName}.${el.className}`)"""


def test_the_live_room_in_every_language_on_desktop_and_phone(ingest, publishers, chromium):  # noqa: F811
    room = RoomFactory(description="A stream to look at in four languages.")
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    for language in LANGUAGES:
        for name, viewport in (
            ("desktop", {"width": 1440, "height": 900}),
            ("phone", {"width": 390, "height": 844}),
        ):
            context = chromium.new_context(viewport=viewport, is_mobile=name == "phone")
            context.add_cookies([{"name": "django_language", "value": language, "url": ingest.web_url}])
            page = context.new_page()
            errors = watch(page, f"{ingest.web_url}/rooms/{room.pk}/")
            page.wait_for_function(
                "() => document.querySelector('#player video').currentTime > 0.3", timeout=30_000
            )
            assert page.get_attribute("html", "lang") == language
            assert page.locator(".topbar").bounding_box()["height"] <= 60, (language, name)
            assert page.locator(".brand img").bounding_box()["width"] == 28, (language, name)
            assert page.evaluate(WIDER_THAN, viewport["width"]) == [], (language, name)
            page.hover("#player")
            page.screenshot(path=str(ARTIFACTS / f"room-{language}-{name}.png"))
            assert errors == [], (language, name)
            context.close()
