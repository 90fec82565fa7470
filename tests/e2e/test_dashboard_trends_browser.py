"""The dashboard's charts in Chromium: viewers over time while live, channel trends over 30 or 90 days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from streams.models import RoomRecord, ViewerSample
from tests.e2e.test_dashboard_browser import owner_page
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import LiveRoomFactory, StreamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POINTS = "() => document.querySelector('[data-dash-live-chart-box] polyline')?.getAttribute('points').split(' ').length"


def test_live_viewers_chart_and_channel_trends(web_server, chromium):  # noqa: F811
    room = LiveRoomFactory(viewer_count=9)
    stream = room.streams.get()
    started = timezone.now() - timedelta(minutes=3)
    stream.started_at = started
    stream.save(update_fields=["started_at"])
    for n, viewers in enumerate([2, 5, 7, 4]):
        ViewerSample.objects.create(stream=stream, at=started + timedelta(seconds=30 * n), viewers=viewers)
    old = StreamFactory(room=room, started_at=timezone.now() - timedelta(days=50))
    RoomRecord.objects.create(
        room=room, stream=old, started_at=old.started_at, peak_viewers=321, unique_viewers=400
    )

    page = owner_page(chromium, web_server, room.owner)
    page.goto(f"{web_server}/dashboard/")
    # Four samples and the count of now.
    page.wait_for_function(f"() => ({POINTS})() === 5", timeout=10_000)
    assert page.is_visible("[data-dash-live-chart]")
    assert page.text_content("[data-dash-live-chart-box] .dash-chart__label >> nth=0") == "9"
    page.locator("[data-dash-status]").screenshot(path=str(ARTIFACTS / "dashboard-live-chart.png"))

    trends = page.locator("[data-dash-trends]")
    assert trends.get_attribute("data-days") == "30"
    assert page.inner_text("[data-trend=peak] [data-trend-figure]") == "0"
    assert page.locator("[data-trend=peak] rect").count() >= 5
    page.click("[data-trend-days='90']")
    page.wait_for_selector("[data-dash-trends][data-days='90']")
    assert page.inner_text("[data-trend=peak] [data-trend-figure]") == "321"
    assert page.locator("[data-trend=peak] rect").count() >= 13
    assert page.locator("[data-trend=peak] rect[data-value='321']").count() == 1
    page.locator("[data-dash-trends]").screenshot(path=str(ARTIFACTS / "dashboard-trends-1440.png"))

    page.set_viewport_size({"width": 390, "height": 844})
    box = page.locator("[data-dash-trends]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.locator("[data-dash-trends]").screenshot(path=str(ARTIFACTS / "dashboard-trends-390.png"))
    assert page.errors == []
