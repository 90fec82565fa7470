"""The staff admin in Chromium at 1440 px: an index with what is live and how the services are, one Chat
section, and a streams list that fits and reads."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import CategoryFactory, LiveRoomFactory, RoomFactory, StreamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def staff_page(browser, base_url: str):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def test_admin_index_shows_live_rooms_health_and_one_chat_section(web_server, chromium):  # noqa: F811
    LiveRoomFactory(title="Night run", viewer_count=12)
    page = staff_page(chromium, web_server)
    page.goto(f"{web_server}/admin/")

    overview = page.locator("#overview").text_content()
    assert "Live now (1)" in overview
    assert "Night run" in overview and "12 viewers" in overview
    page.wait_for_selector("[data-health-check=database][data-state=ok]")
    captions = [text.strip().lower() for text in page.locator("#content-main caption").all_text_contents()]
    assert captions.count("chat") == 1, captions
    assert page.locator(".app-chat a", has_text="Chat log").count() == 1
    assert "Token Blacklist" not in page.inner_text("#content-main")
    page.screenshot(path=str(ARTIFACTS / "admin-index.png"), full_page=True)
    assert page.errors == []


def test_streams_list_fits_and_reads(web_server, chromium):  # noqa: F811
    started = timezone.now() - timedelta(hours=2)
    StreamFactory(
        started_at=started,
        ended_at=started + timedelta(hours=1, minutes=2, seconds=3, microseconds=456789),
        end_reason="heartbeat_lost",
        resolution="1920x1080",
        bitrate_kbps=6000,
    )
    page = staff_page(chromium, web_server)
    page.goto(f"{web_server}/admin/streams/stream/")

    row = page.locator("#result_list tbody tr").first.inner_text()
    assert "1:02:03" in row and "456789" not in row
    assert "The ingest stopped reporting" in row and "heartbeat_lost" not in row
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    changelist = page.locator("#changelist").bounding_box()
    assert page.locator("#result_list").bounding_box()["width"] <= changelist["width"]
    page.screenshot(path=str(ARTIFACTS / "admin-streams.png"))
    assert page.errors == []


def test_staff_name_a_category_per_language_and_visitors_read_their_own(web_server, chromium):  # noqa: F811
    category = CategoryFactory(name="Games")
    RoomFactory(category=category)
    page = staff_page(chromium, web_server)
    page.goto(f"{web_server}/admin/rooms/category/{category.pk}/change/")
    page.fill("#id_name_vi", "Trò chơi")
    page.fill("#id_name_ko", "게임")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    category.refresh_from_db()
    assert category.names == {"vi": "Trò chơi", "ko": "게임"}

    for language, shown in (("vi", "Trò chơi"), ("ko", "게임"), ("zh-hans", "Games"), ("en", "Games")):
        context = chromium.new_context()
        context.add_cookies([{"name": "django_language", "value": language, "url": web_server}])
        visitor = context.new_page()
        visitor.goto(f"{web_server}/")
        assert visitor.locator(".chips .chip").nth(1).inner_text() == shown, language
        assert visitor.locator(".card .chip").first.inner_text() == shown, language
        context.close()
