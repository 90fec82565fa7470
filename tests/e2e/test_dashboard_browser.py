"""The streamer's dashboard in Chromium: its forms read as forms, and a stream's figures show while live."""

import signal

import pytest
from django.test import Client

from rooms.selectors import stream_key_active
from tests.e2e.test_ingest import ingest, publishers, wait_idle, wait_live  # noqa: F401 (fixtures)
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BG = "rgb(14, 14, 16)"  # --bg of site.css


def owner_page(browser, base_url: str, user, *, language: str = "en"):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies(
        [
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url},
            {"name": "django_language", "value": language, "url": base_url},
        ]
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def test_bitrate_and_resolution_show_within_seconds_of_going_live(ingest, publishers, chromium):  # noqa: F811
    room = RoomFactory()
    page = owner_page(chromium, ingest.web_url, room.owner)
    page.goto(f"{ingest.web_url}/dashboard/")
    assert page.inner_text("[data-status-bitrate]") == "—"

    ffmpeg = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    page.wait_for_function(
        "() => /kbps/.test(document.querySelector('[data-status-bitrate]').textContent)", timeout=20_000
    )
    page.wait_for_function(
        "() => document.querySelector('[data-status-resolution]').textContent === '640x360'"
    )
    page.locator("[data-dash-status]").screenshot(path=str(ARTIFACTS / "dashboard-status-live.png"))

    ffmpeg.send_signal(signal.SIGINT)
    ffmpeg.wait(timeout=10)
    wait_idle(room)
    page.wait_for_function(
        "() => document.querySelector('[data-status-bitrate]').textContent === '—'", timeout=15_000
    )
    assert page.errors == []


def test_dashboard_forms_are_styled_and_translated(web_server, chromium):  # noqa: F811
    room = RoomFactory()
    page = owner_page(chromium, web_server, room.owner, language="vi")
    page.goto(f"{web_server}/dashboard/")
    assert page.inner_text("label[for=id_category]") == "Danh mục"

    # The checkbox sits right beside its sentence, on the same line.
    box = page.locator("#id_allow_comments").bounding_box()
    label = page.locator("label[for=id_allow_comments] span").bounding_box()
    assert 0 <= label["x"] - (box["x"] + box["width"]) <= 16
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) <= 4

    for selector in ("#id_slow_mode_seconds", "#id_title", "#id_category"):
        assert page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor") == BG, selector
    picker = page.eval_on_selector(
        "#id_cover", "el => getComputedStyle(el, '::file-selector-button').backgroundColor"
    )
    assert picker != "rgb(239, 239, 239)" and picker != BG  # not the browser's light default
    page.screenshot(path=str(ARTIFACTS / "dashboard-vi.png"), full_page=True)

    page.goto(f"{web_server}/accounts/profile/")
    assert page.eval_on_selector("#id_language", "el => getComputedStyle(el).backgroundColor") == BG
    page.screenshot(path=str(ARTIFACTS / "profile-edit-vi.png"), full_page=True)
    assert page.errors == []
