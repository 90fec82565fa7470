"""The player box in Chromium on a real VOD: fullscreen with the danmaku, shortcuts and their help, volume,
mute and danmaku settings remembered, and the heatmap drawn in the seek bar."""

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from streamlite.mongo import MESSAGES, mongo_client
from tests.e2e.conftest import free_port, running_web
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.e2e.test_vod_browser import _server_env
from tests.factories import StreamFactory
from tests.vod.conftest import ffmpeg_recording, moto_server  # noqa: F401 (fixture)
from vod.services import vod_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOX = "[data-player-box]"


@pytest.fixture
def vod_site(settings, tmp_path, moto_server):  # noqa: F811
    """(base URL, VOD) of a ready 8 s VOD with danmaku at 2 s and 6 s, served by a real web process."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    settings.RECORDINGS_ROOT = str(recordings)
    mongo_db = f"test_player_{uuid.uuid4().hex[:10]}"
    settings.MONGO_DB = mongo_db
    with ExitStack() as stack:
        env = _server_env("local", settings, mongo_db, stack, moto_server)
        stream = StreamFactory()
        stream.recording_path = str(
            ffmpeg_recording(recordings / f"{stream.room.public_name}-1.flv", seconds=8)
        )
        stream.save(update_fields=["recording_path"])
        vod = vod_process(stream=stream)
        mongo_client()[mongo_db][MESSAGES].insert_many(
            [
                {"_id": n, "room": stream.room_id, "stream": stream.pk, "user": 1, "username": "ann",
                 "display_name": "Ann", "text": f"comment {n}", "kind": "danmaku", "mode": "scroll",
                 "color": "#ffffff", "size": "normal", "lane": 0, "vpos_ms": vpos_ms,
                 "created_at": datetime.now(UTC), "client_id": f"c{n}", "deleted": False}
                for n, vpos_ms in enumerate([2_000, 2_010, 6_000], start=1)
            ]
        )  # fmt: skip
        try:
            with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
                yield base_url, vod
        finally:
            mongo_client().drop_database(mongo_db)


def open_vod(context, base_url: str, vod):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{base_url}/vods/{vod.pk}/")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=20_000)
    return page


def test_shortcuts_fullscreen_the_box_and_volume_and_mute_are_remembered(vod_site, chromium):  # noqa: F811
    base_url, vod = vod_site
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = open_vod(context, base_url, vod)
    assert page.eval_on_selector("video", "video => video.controls") is False
    assert page.eval_on_selector("video", "video => video.muted") is False

    page.keyboard.press("k")
    page.wait_for_function(
        "() => !document.querySelector('video').paused && document.querySelector('video').currentTime > 0.3"
    )
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null")
    # The whole box is fullscreen: the danmaku layer and the controls are inside it.
    assert page.evaluate("document.fullscreenElement.matches('[data-player-box]')")
    assert page.evaluate("!!document.fullscreenElement.querySelector('.danmaku-layer')")
    assert page.evaluate("!!document.fullscreenElement.querySelector('[data-player-bar]')")
    page.wait_for_selector(".danmaku-layer .danmaku", timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "vod-fullscreen.png"))
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("m")
    assert page.eval_on_selector("video", "video => [video.muted, video.volume]") == [True, 0.8]
    page.keyboard.press("?")
    assert page.is_visible("[data-player-help]")
    assert "Fullscreen" in page.inner_text("[data-player-help]")
    page.keyboard.press("Escape")
    assert not page.is_visible("[data-player-help]")

    again = open_vod(context, base_url, vod)
    assert again.eval_on_selector("video", "video => [video.muted, video.volume]") == [True, 0.8]
    assert page.errors == [] and again.errors == []


def test_the_heatmap_lies_in_the_seek_bar_and_hovering_tells_the_time(vod_site, chromium):  # noqa: F811
    base_url, vod = vod_site
    page = open_vod(chromium.new_context(viewport={"width": 1440, "height": 900}), base_url, vod)
    page.wait_for_selector(".vod-heatmap__cell[data-count='2']", state="attached", timeout=10_000)
    page.hover(BOX)
    seek = page.locator("[data-player-seek]").bounding_box()
    heatmap = page.locator("[data-heatmap]").bounding_box()
    assert heatmap["x"] == pytest.approx(seek["x"], abs=1)
    assert heatmap["width"] == pytest.approx(seek["width"], abs=1)
    # The bar of the comments at 2 s sits where 2 s is on the seek bar.
    duration = page.eval_on_selector("video", "video => video.duration")
    busiest = page.locator(".vod-heatmap__cell[data-count='2']").bounding_box()
    assert busiest["x"] - seek["x"] == pytest.approx(seek["width"] * 2 / duration, abs=seek["width"] / 50)

    page.mouse.move(seek["x"] + seek["width"] * 0.75, seek["y"] + seek["height"] / 2)
    assert page.inner_text("[data-player-hover-time]") == "0:0" + str(int(duration * 0.75))
    page.mouse.click(seek["x"] + seek["width"] * 0.5, seek["y"] + seek["height"] / 2)
    current = page.eval_on_selector("video", "video => video.currentTime")
    assert current == pytest.approx(duration / 2, abs=0.3)
    page.screenshot(path=str(ARTIFACTS / "vod-seek-heatmap.png"))
    assert page.errors == []


def test_danmaku_panel_settings_show_their_values_and_are_remembered(vod_site, chromium):  # noqa: F811
    base_url, vod = vod_site
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = open_vod(context, base_url, vod)
    page.click(".danmaku-controls__toggle")
    page.fill("[data-danmaku-setting=fontScale]", "1.5")
    assert page.inner_text("[data-danmaku-value=fontScale]") == "150%"
    page.select_option("[data-danmaku-setting=area]", "0.5")
    page.check("[data-danmaku-setting=hideScroll]")
    page.screenshot(path=str(ARTIFACTS / "vod-danmaku-panel.png"))

    again = open_vod(context, base_url, vod)
    again.click(".danmaku-controls__toggle")
    assert again.input_value("[data-danmaku-setting=fontScale]") == "1.5"
    assert again.inner_text("[data-danmaku-value=fontScale]") == "150%"
    assert again.input_value("[data-danmaku-setting=area]") == "0.5"
    assert again.is_checked("[data-danmaku-setting=hideScroll]")
    # Scrolling comments are hidden now: playing past them draws nothing.
    again.keyboard.press("Escape")
    again.evaluate("document.activeElement.blur()")
    again.keyboard.press("k")
    again.wait_for_function("() => document.querySelector('video').currentTime > 2.6", timeout=10_000)
    assert again.locator(".danmaku-layer .danmaku").count() == 0
    assert page.errors == [] and again.errors == []
