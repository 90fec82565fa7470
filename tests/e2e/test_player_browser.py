"""The room page's player in Debian's Chromium, playing what a real ffmpeg publishes through real nginx-rtmp."""

import signal
from datetime import timedelta

import pytest

from rooms.selectors import stream_key_active
from streams.models import ViewerSample
from tests.e2e.conftest import REPO_ROOT
from tests.e2e.test_ingest import ingest, publishers, wait_idle, wait_live  # noqa: F401 (fixtures)
from tests.factories import RoomFactory, StreamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def chromium(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the few ORM calls a test makes while the
    # browser is open come from plain test code, not from a coroutine.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def video_time(page) -> float:
    return page.eval_on_selector("#player video", "video => video.currentTime")


def test_room_page_plays_the_live_stream_and_turns_offline_when_it_ends(ingest, publishers, chromium):  # noqa: F811
    room = RoomFactory()
    ffmpeg = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)

    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{ingest.web_url}/rooms/{room.pk}/")

    # The playlist appears a second or two after the publish: the player retries until it plays.
    page.wait_for_function("() => document.querySelector('#player video').currentTime > 0.5", timeout=30_000)
    first = video_time(page)
    page.wait_for_timeout(2_000)
    assert video_time(page) > first
    assert page.get_attribute("#player", "data-live") == "true"
    assert page.is_visible("#player .badge--live")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "player-live.png"))

    ffmpeg.send_signal(signal.SIGINT)
    ffmpeg.wait(timeout=10)
    wait_idle(room)
    # The room websocket pushes the new state: no reload.
    page.wait_for_function("() => document.querySelector('#player').dataset.live === 'false'", timeout=15_000)
    assert page.is_visible("#player .player__offline")
    page.screenshot(path=str(ARTIFACTS / "player-offline.png"))
    assert errors == []


def test_dashboard_reveals_the_key_and_draws_the_viewers_chart(web_server, chromium, client):
    room = RoomFactory()
    stream = StreamFactory(room=room)
    for n, viewers in enumerate([2, 5, 9, 4]):
        ViewerSample.objects.create(
            stream=stream, at=stream.started_at + timedelta(seconds=30 * n), viewers=viewers
        )
    client.force_login(room.owner)
    context = chromium.new_context(viewport={"width": 1280, "height": 1600})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web_server}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{web_server}/dashboard/")

    assert page.get_attribute("#stream-key", "type") == "password"
    page.click("[data-reveal-target=stream-key]")
    assert page.get_attribute("#stream-key", "type") == "text"
    assert page.input_value("#stream-key") == stream_key_active(room=room).secret
    page.wait_for_selector("[data-dash-chart] polyline")
    assert page.get_attribute("[data-dash-chart] polyline", "points").count(",") == 4
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert errors == []
