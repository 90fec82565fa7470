"""The chat's viewer list in Chromium: signed-in viewers by name and a count of the others, from the real
presence in Redis of real websockets."""

import time

import pytest

from tests.e2e.test_chat_browser import room_page
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_viewer_list_names_signed_in_viewers_and_counts_the_others(web_server, chromium):  # noqa: F811
    room = RoomFactory()
    ann = UserFactory(username="ann", display_name="Ann")
    bob = UserFactory(username="bob", display_name="Bob")
    # Two anonymous browsers from one address without a session are one viewer (the count is of viewers).
    pages = [room_page(chromium, web_server, room, user) for user in (ann, None, None)]
    page = room_page(chromium, web_server, room, bob)
    page.wait_for_function(
        "() => document.querySelector('[data-chat-viewers]').textContent === '3'", timeout=15_000
    )

    page.click("[data-chat-viewers-toggle]")
    page.wait_for_selector("[data-chat-viewer-names] li")
    assert page.locator("[data-chat-viewer-names] li").all_inner_texts() == ["Ann", "Bob"]
    assert page.inner_text("[data-chat-viewer-anonymous]") == "and 1 viewer without an account"
    page.screenshot(path=str(ARTIFACTS / "chat-viewer-list.png"))

    # Ann leaves: the list, opened again, no longer names her (once the server has seen her socket close).
    pages[0].context.close()
    deadline = time.monotonic() + 30
    names = None
    while names != ["Bob"] and time.monotonic() < deadline:
        page.click("[data-chat-viewers-toggle]")  # closes
        page.click("[data-chat-viewers-toggle]")  # opens and asks again
        page.wait_for_timeout(500)
        names = page.locator("[data-chat-viewer-names] li").all_inner_texts()
    assert names == ["Bob"]
    assert all(not each.problems for each in [page, *pages[1:]])
