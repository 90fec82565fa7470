"""Switching language in Chromium: the scripts' sentences follow at once, however long the catalogue is cached."""

import pytest

from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_scripts_speak_the_new_language_right_after_switching(web_server, chromium):  # noqa: F811
    room = RoomFactory()
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{web_server}/rooms/{room.pk}/")
    page.wait_for_function("() => document.querySelector('[data-chat-status]').textContent === 'Connected'")

    page.click(".menu--language summary")
    with page.expect_navigation():
        page.click(".menu--language button[value=vi]")
    assert page.get_attribute("html", "lang") == "vi"
    # "Connected" comes from the JavaScript catalogue, not from the server-rendered page.
    page.wait_for_function("() => document.querySelector('[data-chat-status]').dataset.state === 'connected'")
    assert page.text_content("[data-chat-status]") == "Đã kết nối"
    assert errors == []
