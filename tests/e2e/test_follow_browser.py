"""Follow, bell and go-live toast in Debian's Chromium against a real web process (session cookie, CSRF, websocket)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from notifications.services import notifications_for_live_start
from rooms.models import Follow
from streams.models import Stream
from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)
from tests.factories import FollowFactory, RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def logged_in_page(browser, client, base_url, user):
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def test_follow_unfollow_and_bell_without_a_reload(web_server, chromium, client):  # noqa: F811
    room = RoomFactory()
    FollowFactory(followed=room.owner)
    viewer = UserFactory()
    page, errors = logged_in_page(chromium, client, web_server, viewer)
    page.goto(f"{web_server}/rooms/{room.pk}/")
    page.evaluate("window.notReloaded = true")
    count = page.locator(f'[data-follower-count-of="{room.owner.username}"]')
    assert "1 follower" in count.inner_text()

    page.click(".js-follow")
    page.wait_for_selector('[data-follow][data-following="true"]')
    assert "2 followers" in count.inner_text()
    assert Follow.objects.get(follower=viewer, followed=room.owner).notify is True

    page.click(".js-follow-bell")
    page.wait_for_selector('.js-follow-bell[aria-pressed="false"]')
    assert Follow.objects.get(follower=viewer, followed=room.owner).notify is False

    page.click(".js-follow")
    page.wait_for_selector('[data-follow][data-following="false"]')
    assert "1 follower" in count.inner_text()
    assert not Follow.objects.filter(follower=viewer).exists()
    assert page.evaluate("window.notReloaded") is True
    assert errors == []


def test_going_live_shows_a_toast_and_the_unread_badge(web_server, chromium, client):  # noqa: F811
    room = RoomFactory(title="<i>Night run</i>")
    follower = FollowFactory(followed=room.owner).follower
    page, errors = logged_in_page(chromium, client, web_server, follower)
    page.goto(f"{web_server}/following/")
    # The socket says the count on connect, which also tells us it is subscribed.
    page.wait_for_function("() => document.querySelector('[data-unread-badge]').textContent === '0'")

    stream = Stream.objects.create(room=room, started_at=timezone.now(), client_id="1")
    # As the worker would: in a thread of its own, away from the event loop Playwright runs in this one.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(notifications_for_live_start, stream_id=stream.pk).result()

    toast = page.wait_for_selector(".toast", timeout=10_000)
    assert "<i>Night run</i>" in toast.inner_text()  # user text shown as text
    assert toast.get_attribute("href") == f"/rooms/{room.pk}/"
    page.wait_for_function("() => document.querySelector('[data-unread-badge]').textContent === '1'")
    assert page.is_visible("[data-unread-badge]")
    assert errors == []
