"""The site in each language in Debian's Chromium: the home page and a live room with a Chinese, Korean or
Vietnamese danmaku and chat message. Screenshots go to test-artifacts/ (the glyphs, for a human to see)."""

import pytest
from django.conf import settings
from django.test import Client

from tests.e2e.conftest import web_server  # noqa: F401 (fixture)
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import LiveRoomFactory, UserFactory
from tests.i18n.conftest import translated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What each language's viewer sends: their script, with its diacritics or Han/Hangul characters.
MESSAGES = {
    "en": "Hello, 你好, 안녕, xin chào!",
    "zh-hans": "弹幕测试：你好世界！",
    "ko": "탄막 테스트: 안녕하세요 여러분!",
    "vi": "Bình luận bay: Tiếng Việt có dấu ệ ộ ữ ằ ẫ!",
}


def send(page, text: str, kind: str) -> None:
    page.check(f"[data-chat-form] input[name=kind][value={kind}]")
    page.fill("[data-chat-input]", text)
    page.click("[data-chat-send]")


def test_home_and_room_in_each_language(web_server, chromium):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    viewer = UserFactory()
    room = LiveRoomFactory(comment_cooldown_ms=0, title="Phở 直播 방송")
    session = Client()
    session.force_login(viewer)
    problems: list[str] = []
    for language, text in MESSAGES.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies(
            [
                {"name": "sessionid", "value": session.cookies["sessionid"].value, "url": web_server},
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": web_server},
            ]
        )
        page = context.new_page()
        page.on("pageerror", lambda error, lang=language: problems.append(f"{lang}: {error}"))
        nav = translated(language, "Categories")

        page.goto(f"{web_server}/")
        assert page.get_attribute("html", "lang") == language
        assert page.locator(".menu--categories .menu__toggle").inner_text().strip() == nav
        assert page.locator(".menu--categories .menu__toggle").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"i18n-home-{language}.png"))

        page.goto(f"{web_server}/rooms/{room.pk}/")
        page.wait_for_selector("[data-chat-status][data-state=connected]", timeout=15_000)
        assert page.locator("[data-chat-status]").inner_text() == translated_js(page, "Connected")
        send(page, text, "danmaku")
        danmaku = page.wait_for_selector(".danmaku-layer .danmaku", timeout=10_000)
        assert danmaku.text_content() == text
        box = danmaku.evaluate(
            """item => ({height: item.getBoundingClientRect().height, font: parseFloat(getComputedStyle(item).fontSize),
                         scroll: item.scrollWidth, width: item.offsetWidth,
                         scrollHeight: item.scrollHeight, offsetHeight: item.offsetHeight})"""
        )
        assert box["height"] >= box["font"], box
        assert box["scroll"] <= box["width"] + 1 and box["scrollHeight"] <= box["offsetHeight"] + 1, box
        send(page, text, "chat")
        page.wait_for_function(
            """text => [...document.querySelectorAll('#chat .chat__msg:not(.is-pending)')]
                 .filter(item => item.querySelector('.chat__text').textContent === text).length >= 2""",
            arg=text,
            timeout=10_000,
        )
        assert page.locator(".menu--categories .menu__toggle").inner_text().strip() == nav
        page.wait_for_timeout(1_500)  # the danmaku well inside the video in the picture
        page.screenshot(path=str(ARTIFACTS / f"i18n-room-{language}.png"))
        context.close()
    assert not problems


def translated_js(page, text: str) -> str:
    """``text`` through the page's own JavaScript catalogue."""
    return page.evaluate("text => gettext(text)", text)
