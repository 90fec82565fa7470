"""Tags, search and the VOD's own fields in Chromium: search finds VODs beside rooms and channels, a tag
leads to its page, and the streamer describes and files a VOD from its page."""

import pytest
from django.test import Client

from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import CategoryFactory, RoomFactory, TagFactory, VodFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


@pytest.fixture
def shooters():
    category = CategoryFactory(name="Shooters", slug="shooters")
    category.tags.add(TagFactory(name="FPS", slug="fps"), TagFactory(name="Competitive", slug="competitive"))
    return category


def test_search_finds_videos_and_a_tag_leads_to_its_page(web_server, chromium, shooters):  # noqa: F811
    RoomFactory(title="Arena nights", category=shooters)
    VodFactory(title="Grand final replay", category=shooters)
    VodFactory(title="Baking bread")
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    errors = watch_errors(page)

    page.goto(f"{web_server}/search/?q=fps")
    videos = page.locator("section[aria-labelledby=search-vods-heading]")
    assert videos.locator(".card__title").all_inner_texts() == ["Grand final replay"]
    assert "Arena nights" in page.locator("section[aria-labelledby=rooms-heading]").inner_text()
    page.screenshot(path=str(ARTIFACTS / "search-videos-1440.png"), full_page=True)

    page.goto(f"{web_server}/c/shooters/")
    page.click("text=#FPS")
    page.wait_for_url(f"{web_server}/t/fps/")
    assert page.inner_text("h1") == "#FPS"
    assert "Arena nights" in page.inner_text("main")
    assert "Grand final replay" in page.inner_text("main")
    assert "Baking bread" not in page.inner_text("main")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "tag-page-390.png"), full_page=True)
    assert errors == []


def test_the_streamer_describes_and_files_a_vod_on_its_page(web_server, chromium, shooters):  # noqa: F811
    vod = VodFactory(title="Tuesday stream")  # no video stored: the page without its player
    client = Client()
    client.force_login(vod.room.owner)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web_server}]
    )
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{web_server}/vods/{vod.pk}/")
    assert not page.is_visible("[data-vod-description]")

    page.click(".vod-edit summary")
    page.fill("#id_description", "Ranked grind with the team.")
    page.select_option("#id_category", label="Shooters")
    page.click("[data-vod-edit] button[type=submit]")
    page.wait_for_selector("[data-vod-description]")
    assert page.inner_text("[data-vod-description]") == "Ranked grind with the team."
    assert page.inner_text("[data-vod-category]") == "Shooters"
    assert page.locator(".tag-chips a").all_inner_texts() == ["#Competitive", "#FPS"]
    page.screenshot(path=str(ARTIFACTS / "vod-described-1440.png"), full_page=True)
    assert errors == []
