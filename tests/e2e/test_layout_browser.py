"""What a viewer sees of the room page's layout in Chromium, on a desktop and on a phone."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.utils import timezone

from notifications.services import notifications_for_live_start
from streams.models import Stream
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import FollowFactory, RoomFactory, UserFactory, VodFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def logged_in_page(browser, base_url: str, user, viewport: dict):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and (b["y"] < a["y"] + a["height"])
    )


def a_room_with_history():
    room = RoomFactory(description="A long description of the channel.\n" * 4)
    for _ in range(4):
        VodFactory(room=room)
    return room


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_toast_keeps_clear_of_the_chat_composer(web_server, chromium, viewport):  # noqa: F811
    watched = a_room_with_history()
    followed = RoomFactory(title="Night run")
    viewer = FollowFactory(followed=followed.owner).follower
    page = logged_in_page(chromium, web_server, viewer, viewport)
    page.goto(f"{web_server}/rooms/{watched.pk}/")
    page.wait_for_function("() => document.querySelector('[data-unread-badge]').textContent === '0'")

    stream = Stream.objects.create(room=followed, started_at=timezone.now(), client_id="1")
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(notifications_for_live_start, stream_id=stream.pk).result()
    toast = page.wait_for_selector(".toast", timeout=10_000).bounding_box()
    assert not overlaps(toast, page.locator(".chat__compose").bounding_box())
    assert not overlaps(toast, page.locator("[data-chat-send]").bounding_box())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"room-toast-{viewport['width']}.png"))
    assert page.errors == []


def test_opening_the_danmaku_options_does_not_scroll_the_page(web_server, chromium):  # noqa: F811
    room = a_room_with_history()
    page = logged_in_page(chromium, web_server, UserFactory(), DESKTOP)
    page.goto(f"{web_server}/rooms/{room.pk}/")
    page.wait_for_selector("[data-chat-status][data-state=connected]")
    player_top = page.locator("#player").bounding_box()["y"]

    page.check("[data-chat-form] input[name=kind][value=danmaku]")
    assert page.is_visible("[data-chat-danmaku-options]")
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("#player").bounding_box()["y"] == player_top
    # The composer is still whole on the first screen.
    send = page.locator("[data-chat-send]").bounding_box()
    assert send["y"] + send["height"] <= DESKTOP["height"]
    page.screenshot(path=str(ARTIFACTS / "room-danmaku-options.png"))
    assert page.errors == []


def test_on_a_phone_the_header_is_one_row_and_the_composer_is_on_the_first_screen(web_server, chromium):  # noqa: F811
    room = a_room_with_history()
    page = logged_in_page(chromium, web_server, UserFactory(), PHONE)
    page.goto(f"{web_server}/rooms/{room.pk}/")
    page.wait_for_selector("[data-chat-status][data-state=connected]")
    assert page.locator(".topbar").bounding_box()["height"] <= 60
    send = page.locator("[data-chat-send]").bounding_box()
    assert send["y"] + send["height"] <= PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "room-phone.png"))

    # The header's search button leads to the search page, which has a field of its own.
    page.click(".topbar .search__button")
    page.wait_for_url("**/search/**")
    page.fill("#page-search", "night")
    page.press("#page-search", "Enter")
    page.wait_for_url("**/search/?q=night")
    anonymous = chromium.new_page(viewport=PHONE)
    anonymous.goto(f"{web_server}/")
    assert anonymous.locator(".topbar").bounding_box()["height"] <= 60
    anonymous.screenshot(path=str(ARTIFACTS / "home-phone.png"))
    assert page.errors == []
