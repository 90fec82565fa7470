"""Two Chromium pages in one live room: chat and danmaku travel through the real websocket pipeline."""

import json

import pytest
from django.test import Client

from rooms.selectors import stream_key_active
from tests.e2e.test_ingest import ingest, publishers, wait_live  # noqa: F401 (fixtures)
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"


# Lets a test cut the page's room connection and keep it down: while blockSockets is set, new room sockets
# go to a closed port. Frames the page sends on them are kept in sentFrames.
SOCKET_CONTROL = """
const NativeWebSocket = window.WebSocket;
window.sockets = [];
window.sentFrames = [];
window.blockSockets = false;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    const room = String(url).includes("/ws/rooms/");
    super(room && window.blockSockets ? "ws://127.0.0.1:9/" : url, protocols);
    if (room) window.sockets.push(this);
  }
  send(data) {
    if (window.sockets.includes(this)) window.sentFrames.push(data);
    super.send(data);
  }
};
"""


def room_page(browser, base_url: str, room, user, *, init_script: str = ""):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
        )
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"error: {error}"))
    # Any dialog means a script ran from message text.
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(f"{base_url}/rooms/{room.pk}/")
    page.wait_for_selector("[data-chat-status][data-state=connected]", timeout=15_000)
    return page


def send(page, text: str, *, kind: str = "chat") -> None:
    page.check(f"[data-chat-form] input[name=kind][value={kind}]")
    page.fill("[data-chat-input]", text)
    page.click("[data-chat-send]")


def wait_acknowledged(page, text: str) -> None:
    page.wait_for_function(
        """text => [...document.querySelectorAll('#chat .chat__msg')].some(
             item => item.querySelector('.chat__text').textContent === text
               && !item.classList.contains('is-pending') && item.dataset.id)""",
        arg=text,
        timeout=10_000,
    )


def test_danmaku_from_one_page_flies_over_the_other_pages_video_and_fills_its_chat(
    ingest,  # noqa: F811
    publishers,  # noqa: F811
    chromium,  # noqa: F811
):
    room = RoomFactory(comment_cooldown_ms=0)
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    viewer = room_page(chromium, ingest.web_url, room, UserFactory())
    sender = room_page(chromium, ingest.web_url, room, UserFactory(display_name="Sender"))
    viewer.wait_for_function(
        "() => document.querySelector('#player video').currentTime > 0.5", timeout=30_000
    )

    text = "hello 弾幕 🎉"
    sender.click("[data-chat-form] input[name=kind][value=danmaku]")
    sender.click(".chat__swatch:has(input[value='#ff0000'])")
    # The ack may come within a millisecond: record the pending state as it appears.
    sender.evaluate(
        """() => new MutationObserver(records => records.forEach(record => record.addedNodes.forEach(
             node => { if (node.classList?.contains('is-pending')) window.sawPending = node.textContent; }
           ))).observe(document.querySelector('#chat [data-chat-list]'), {childList: true})"""
    )
    send(sender, text, kind="danmaku")
    wait_acknowledged(sender, text)
    assert text in sender.evaluate("window.sawPending")

    flying = viewer.wait_for_selector(f"#player .danmaku-layer .danmaku:text-is('{text}')", timeout=10_000)
    assert flying.evaluate("el => getComputedStyle(el).color") == "rgb(255, 0, 0)"
    listed = viewer.wait_for_selector(f"#chat .chat__msg:has(.chat__text:text-is('{text}'))")
    assert listed.query_selector(".chat__user").text_content() == "Sender"
    # Viewer counts arrive every few seconds, in the chat header and the room heading alike.
    viewer.wait_for_function(
        "() => document.querySelector('[data-chat-viewers]').textContent === '2'"
        " && document.querySelector('[data-room-viewers]').textContent === '2 viewers'",
        timeout=20_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    viewer.screenshot(path=str(ARTIFACTS / "chat-danmaku.png"))

    # Markup in a message is text in the list and over the video: no element, no script.
    send(sender, XSS, kind="danmaku")
    wait_acknowledged(sender, XSS)
    viewer.wait_for_function(
        "text => [...document.querySelectorAll('#chat .chat__text')].some(el => el.textContent === text)",
        arg=XSS,
        timeout=10_000,
    )
    viewer.wait_for_timeout(500)
    for page in (viewer, sender):
        assert page.eval_on_selector_all("#chat img, .danmaku-layer img", "els => els.length") == 0
        assert page.problems == []

    # The server measures length after the commands; its refusal shows in the sender's panel.
    send(sender, "x" * 201)
    alert = sender.wait_for_selector("[data-chat-alert][data-code=too_long]", timeout=10_000)
    assert alert.is_visible()
    assert "200" in alert.text_content()
    assert sender.input_value("[data-chat-input]") == "x" * 201  # given back to shorten
    assert sender.eval_on_selector_all("#chat .chat__msg.is-pending", "els => els.length") == 0
    sender.screenshot(path=str(ARTIFACTS / "chat-too-long.png"))
    assert viewer.problems == [] and sender.problems == []


def moderate(page, text: str, action: str) -> None:
    item = page.locator("#chat .chat__msg", has=page.locator(".chat__text", has_text=text))
    item.hover()
    item.locator(".chat__mod-toggle").click()
    item.locator(action).click()


def test_owner_deletes_a_message_for_everyone_and_a_timeout_stops_the_sender(web_server, chromium):  # noqa: F811
    room = RoomFactory(comment_cooldown_ms=0)
    owner = room_page(chromium, web_server, room, room.owner)
    chatter = room_page(chromium, web_server, room, UserFactory())
    assert chatter.locator(".chat__mod-toggle").count() == 0  # no menu for plain viewers

    send(chatter, "delete me")
    wait_acknowledged(chatter, "delete me")
    owner.wait_for_selector("#chat .chat__text:text-is('delete me')")
    moderate(owner, "delete me", "[data-mod-action=delete]")
    for page in (owner, chatter):
        page.wait_for_selector("#chat .chat__text:text-is('delete me')", state="detached", timeout=10_000)

    send(chatter, "one more")
    wait_acknowledged(chatter, "one more")
    owner.wait_for_selector("#chat .chat__text:text-is('one more')")
    moderate(owner, "one more", "[data-mod-action=timeout][data-minutes='5']")
    # The timeout closes the chatter's socket; the page comes back to read, and sending is refused.
    chatter.wait_for_selector("[data-chat-status][data-state=offline]", timeout=10_000)
    chatter.wait_for_selector("[data-chat-status][data-state=connected]", timeout=10_000)
    send(chatter, "after the timeout")
    chatter.wait_for_selector("[data-chat-alert][data-code=banned]", timeout=10_000)
    assert chatter.is_disabled("[data-chat-input]")
    assert owner.locator("#chat .chat__text", has_text="after the timeout").count() == 0
    chatter.screenshot(path=str(ARTIFACTS / "chat-timed-out.png"))
    assert owner.problems == [] and chatter.problems == []


def test_a_dropped_connection_comes_back_and_fills_the_gap_without_repeats(web_server, chromium):  # noqa: F811
    room = RoomFactory(comment_cooldown_ms=0)
    reader = room_page(chromium, web_server, room, UserFactory(), init_script=SOCKET_CONTROL)
    writer = room_page(chromium, web_server, room, UserFactory())
    send(writer, "before the drop")
    reader.wait_for_selector("#chat .chat__text:text-is('before the drop')")

    reader.evaluate("window.blockSockets = true; window.sockets.at(-1).close()")
    reader.wait_for_selector("[data-chat-status][data-state=offline]")
    for text in ("missed one", "missed two"):
        send(writer, text)
        wait_acknowledged(writer, text)
    reader.evaluate("window.blockSockets = false")

    # The client's backoff reaches 15 s while the sockets are blocked; then the connection itself.
    reader.wait_for_selector("[data-chat-status][data-state=connected]", timeout=40_000)
    reader.wait_for_selector("#chat .chat__text:text-is('missed two')", timeout=10_000)
    shown = reader.eval_on_selector_all("#chat .chat__text", "els => els.map(el => el.textContent)")
    assert shown == ["before the drop", "missed one", "missed two"]
    resumes = [frame for frame in reader.evaluate("window.sentFrames") if '"resume"' in frame]
    assert len(resumes) == 1 and json.loads(resumes[0])["after_seq"] > 0
    assert reader.problems == []


def test_anonymous_visitors_read_along_and_are_invited_to_log_in(web_server, chromium):  # noqa: F811
    room = RoomFactory()
    visitor = room_page(chromium, web_server, room, None)
    writer = room_page(chromium, web_server, room, UserFactory())
    send(writer, "hello readers")
    visitor.wait_for_selector("#chat .chat__text:text-is('hello readers')", timeout=10_000)
    assert visitor.locator("[data-chat-form]").count() == 0
    login = visitor.locator("#chat .chat__compose a.btn")
    assert login.get_attribute("href").startswith("/accounts/login/?next=")
    assert visitor.problems == []
