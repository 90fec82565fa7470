"""The community features in Chromium against a real web process, Redis and PostgreSQL: the emote picker,
emotes and level badges in chat, markup staying text beside emotes, the pinned and highlighted message."""

import os

import pytest
from django.test import Client

from accounts.models import User
from chat import services
from tests.chat.test_emotes import XSS_CORPUS, emote_of
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
# Messages one user may send at once before the token bucket makes them wait (CHAT_BUCKET_SIZE is 10).
BURST = 8


@pytest.fixture(autouse=True)
def _media_where_the_server_serves_it(settings):
    # Emote images must land where the web process (started with the test run's environment) reads.
    settings.MEDIA_ROOT = os.environ["MEDIA_ROOT"]


PHONE = {"width": 390, "height": 844}


def room_page(browser, base_url: str, room, user, *, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport)
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"error: {error}"))
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    # Any dialog means a script ran from message text.
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(f"{base_url}/rooms/{room.pk}/")
    page.wait_for_selector("[data-chat-status][data-state=connected]", timeout=15_000)
    return page


def message_with(page, text: str):
    """The acknowledged chat item whose text (emotes as typed) is ``text``."""
    handle = page.wait_for_function(
        """text => [...document.querySelectorAll('#chat .chat__msg')].find(
             item => item.querySelector('.chat__text').dataset.text === text && item.dataset.id
               && !item.classList.contains('is-pending'))?.dataset.id""",
        arg=text,
        timeout=10_000,
    )
    return page.locator(f"#chat .chat__msg[data-id='{handle.json_value()}']")


def test_the_picker_types_an_emote_and_chat_shows_it_with_the_level_badge(web_server, chromium):  # noqa: F811
    room = RoomFactory(comment_cooldown_ms=0)
    emote_of(room=room, name="wave")
    emote_of(room=None, name="hype")
    sender = UserFactory(username="sender", display_name="Sender")
    User.objects.filter(pk=sender.pk).update(level=12)
    page = room_page(chromium, web_server, room, sender)
    viewer = room_page(chromium, web_server, room, UserFactory(), viewport=PHONE)

    page.click("[data-chat-emote-toggle]")
    page.wait_for_selector(".chat__emote[data-emote=wave] img.emote")
    assert page.locator(".chat__emote").evaluate_all("items => items.map(item => item.dataset.emote)") == [
        "hype",
        "wave",
    ]
    page.screenshot(path=str(ARTIFACTS / "chat-emote-picker.png"))
    page.fill("[data-chat-input]", "hello")
    page.click(".chat__emote[data-emote=wave]")
    assert page.input_value("[data-chat-input]") == "hello :wave: "
    page.click("[data-chat-send]")

    for each in (page, viewer):
        item = message_with(each, "hello :wave:")
        image = item.locator(".chat__text img.emote")
        assert image.get_attribute("alt") == ":wave:"
        each.wait_for_function(
            "() => [...document.querySelectorAll('#chat .chat__text img.emote')].every(i => i.naturalWidth > 0)"
        )
        badge = item.locator(".chat__level")
        assert badge.inner_text() == "Lv 12"
        assert badge.get_attribute("data-tier") == "2"
        assert item.locator(".chat__user").inner_text() == "Sender"
    viewer.screenshot(path=str(ARTIFACTS / "chat-emote-badge-phone.png"))
    assert not page.problems and not viewer.problems


def test_markup_beside_emotes_stays_text(web_server, chromium):  # noqa: F811
    room = RoomFactory(comment_cooldown_ms=0)
    emote_of(room=room, name="wave")
    viewer = room_page(chromium, web_server, room, UserFactory())
    senders = []
    for n, payload in enumerate(XSS_CORPUS):
        if n % BURST == 0:
            senders.append(room_page(chromium, web_server, room, UserFactory()))
        sender = senders[-1]
        text = f":wave:{payload} :wave: :wave{n}:"
        sender.fill("[data-chat-input]", text)
        sender.click("[data-chat-send]")
        item = message_with(viewer, text)
        # Only the two known emotes are pictures; the payload and the unknown name are the same text.
        assert item.locator(".chat__text img").count() == 2
        assert item.locator(".chat__text").text_content() == f"{payload}  :wave{n}:"
    assert viewer.locator("#chat img:not(.emote), #chat script, #chat iframe, #chat svg image").count() == 0
    assert not viewer.problems and not any(sender.problems for sender in senders)


def test_a_pinned_message_shows_above_the_chat_and_a_highlight_over_the_video(web_server, chromium):  # noqa: F811
    room = RoomFactory(comment_cooldown_ms=0)
    emote_of(room=room, name="wave")
    owner = room_page(chromium, web_server, room, room.owner)
    viewer = room_page(chromium, web_server, room, UserFactory(display_name="Asker"))
    viewer.fill("[data-chat-input]", "When is the next stream? :wave:")
    viewer.click("[data-chat-send]")
    item = message_with(owner, "When is the next stream? :wave:")

    item.hover()
    item.locator(".chat__mod-toggle").click()
    item.locator("[data-mod-action=pin]").click()
    for each in (owner, viewer):
        each.wait_for_selector("[data-chat-pinned]:not([hidden])", timeout=10_000)
        pinned = each.locator("[data-chat-pinned-message]")
        assert "When is the next stream?" in pinned.inner_text()
        assert pinned.locator("img.emote").count() == 1
    # The viewer cannot unpin; the owner can.
    assert viewer.locator("[data-chat-unpin]").count() == 0
    owner.screenshot(path=str(ARTIFACTS / "chat-pinned.png"))

    item.hover()
    item.locator(".chat__mod-toggle").click()
    item.locator("[data-mod-action=highlight]").click()
    highlight = viewer.wait_for_selector(".player .highlight", timeout=10_000)
    assert "When is the next stream?" in highlight.inner_text()
    viewer.screenshot(path=str(ARTIFACTS / "chat-highlight.png"))

    owner.click("[data-chat-unpin]")
    viewer.wait_for_selector("[data-chat-pinned][hidden]", state="attached", timeout=10_000)
    # A late joiner sees the present pin (none now), pinned again from the API.
    services.chat_message_pin(room=room, message_id=int(item.get_attribute("data-id")), by=room.owner)
    late = room_page(chromium, web_server, room, UserFactory(), viewport=PHONE)
    late.wait_for_selector("[data-chat-pinned]:not([hidden])", timeout=10_000)
    late.screenshot(path=str(ARTIFACTS / "chat-pinned-phone.png"))
    assert not owner.problems and not viewer.problems and not late.problems
