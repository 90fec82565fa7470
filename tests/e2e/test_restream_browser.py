"""The restream and playout pages in Chromium: a destination's state turns live on the page while the
room streams, at desktop and phone widths, without console errors."""

import uuid

import pytest

from rooms.selectors import stream_key_active
from tests.e2e import test_ingest, test_player_browser, test_restream
from tests.e2e.conftest import running_celery_worker
from tests.e2e.test_dashboard_browser import owner_page
from tests.e2e.test_ingest import wait_live
from tests.e2e.test_player_browser import ARTIFACTS
from tests.e2e.test_restream import make_destination, relay_worker_env, wait_state
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ingest = test_ingest.ingest
publishers = test_ingest.publishers
chromium = test_player_browser.chromium
platform = test_restream.platform
allow_loopback = test_restream.allow_loopback


def test_the_restream_page_shows_a_destination_going_live(
    ingest, platform, publishers, chromium, tmp_path, allow_loopback, django_db_blocker
):
    room = RoomFactory()
    destination = make_destination(room, platform)
    page = owner_page(chromium, ingest.web_url, room.owner)
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto(f"{ingest.web_url}/dashboard/restream/")
    assert page.inner_text('[data-field="state"]') == "Stopped"
    env = relay_worker_env(ingest, django_db_blocker)
    with running_celery_worker(name=f"relay-{uuid.uuid4().hex[:6]}", env=env, log=tmp_path / "w.log"):
        publishers(ingest.publish_url(stream_key_active(room=room).secret))
        wait_live(room)
        wait_state(destination, "live")
        page.wait_for_function(
            "() => document.querySelector('[data-field=\"state\"]').textContent === 'Live'", timeout=15_000
        )
        page.screenshot(path=str(ARTIFACTS / "restream-live-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "restream-live-390.png"), full_page=True)
        page.goto(f"{ingest.web_url}/dashboard/restream/playout/")
        page.screenshot(path=str(ARTIFACTS / "playout-390.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(ARTIFACTS / "playout-1440.png"), full_page=True)
    assert page.errors == [] and console_errors == []
