"""The home page in Chromium: real channels before empty rooms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import LiveRoomFactory, RoomFactory, StreamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_lists_live_by_viewers_then_recently_live_then_never_streamed_rooms(web_server, chromium):  # noqa: F811
    now = timezone.now()
    streamed_long_ago = RoomFactory(title="Streamed long ago", last_live_at=now - timedelta(days=60))
    StreamFactory(
        room=streamed_long_ago,
        status="ended",
        started_at=now - timedelta(days=60),
        ended_at=now - timedelta(days=60),
    )
    streamed_yesterday = RoomFactory(title="Streamed yesterday", last_live_at=now - timedelta(days=1))
    StreamFactory(
        room=streamed_yesterday,
        status="ended",
        started_at=now - timedelta(days=1),
        ended_at=now - timedelta(hours=23),
    )
    LiveRoomFactory(title="Live, 5 viewers", viewer_count=5)
    LiveRoomFactory(title="Live, 9 viewers", viewer_count=9)
    RoomFactory(title="Empty, made last")

    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{web_server}/")
    titles = page.locator(".card__title").all_inner_texts()
    assert titles == [
        "Live, 9 viewers",
        "Live, 5 viewers",
        "Streamed yesterday",
        "Streamed long ago",
        "Empty, made last",
    ]
    page.screenshot(path=str(ARTIFACTS / "home.png"))
