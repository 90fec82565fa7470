"""The schedule and e-mail alert pages as a person uses them, in Debian's Chromium against a real web process:
a streamer schedules a stream on the dashboard, a viewer finds it on the home, profile and room pages and
presses "Remind me", and picks e-mail alerts on the following page. Screenshots at desktop and phone size."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.emails import email_unsubscribe_token
from rooms.models import Follow
from schedule.models import Reminder, ScheduledStream
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import FollowFactory, RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SEOUL_EVENING = re.compile(r"\b(20:30|0?8:30\s?PM)\b")


def page_as(browser, client, base_url, user, viewport):
    context = browser.new_context(viewport=viewport)
    if user is not None:
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
        )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return page, errors


def test_a_streamer_schedules_and_a_viewer_asks_to_be_reminded(web_server, chromium, client):  # noqa: F811
    room = RoomFactory(owner=UserFactory(display_name="Ann Streams"), title="Ann's speedruns")
    page, errors = page_as(chromium, client, web_server, room.owner, DESKTOP)
    page.goto(f"{web_server}/dashboard/schedule/")
    starts = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_title", "Any% world record attempt")
    page.fill("#id_starts_at", starts)
    page.click("form.form button[type=submit]")
    page.wait_for_selector("[data-schedule-entries]")
    page.screenshot(path=str(ARTIFACTS / "schedule-dashboard-1440.png"), full_page=True)
    entry = ScheduledStream.objects.get(room=room)
    assert entry.title == "Any% world record attempt"
    assert errors == []

    viewer = UserFactory()
    for viewport, size in ((DESKTOP, "1440"), (PHONE, "390")):
        page, errors = page_as(chromium, client, web_server, viewer, viewport)
        for name, url in (
            ("home", "/"),
            ("profile", f"/u/{room.owner.username}/"),
            ("room", f"/rooms/{room.pk}/"),
        ):
            page.goto(web_server + url)
            item = page.locator(f'[data-scheduled="{entry.pk}"]')
            assert "Any% world record attempt" in item.inner_text()
            item.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"schedule-{name}-{size}.png"), full_page=True)
        assert errors == [], size

    page.goto(f"{web_server}/rooms/{room.pk}/")
    page.click(f'[data-scheduled="{entry.pk}"] button[type=submit]')
    page.wait_for_selector(f'[data-scheduled="{entry.pk}"] button[aria-pressed="true"]')
    assert Reminder.objects.filter(scheduled=entry, user=viewer).exists()
    assert page.url.endswith(f"/rooms/{room.pk}/")

    calendar = page.request.get(f"{web_server}/u/{room.owner.username}/schedule.ics")
    assert calendar.ok and "SUMMARY:Any% world record attempt" in calendar.text()


def test_a_viewer_picks_email_alerts_and_unsubscribes_from_the_link(web_server, chromium, client):  # noqa: F811
    follow = FollowFactory(followed=UserFactory(display_name="Ann Streams"))
    RoomFactory(owner=follow.followed)
    for viewport, size in ((DESKTOP, "1440"), (PHONE, "390")):
        page, errors = page_as(chromium, client, web_server, follow.follower, viewport)
        page.goto(f"{web_server}/following/")
        page.screenshot(path=str(ARTIFACTS / f"following-email-{size}.png"), full_page=True)
        assert errors == []
    page.check("[data-email-alerts] input[name=email_live]")
    page.click("[data-email-alerts] button[type=submit]")
    page.wait_for_selector(".message--success")
    assert page.is_checked("[data-email-alerts] input[name=email_live]")
    follow.refresh_from_db()
    assert (follow.email_live, follow.email_vod) == (True, False)

    token = email_unsubscribe_token(recipient_id=follow.follower_id, streamer_id=follow.followed_id)
    anonymous, errors = page_as(chromium, client, web_server, None, PHONE)
    anonymous.goto(f"{web_server}/notifications/unsubscribe/{token}/")
    anonymous.screenshot(path=str(ARTIFACTS / "unsubscribe-390.png"), full_page=True)
    anonymous.click("[data-unsubscribe-form] button[type=submit]")
    anonymous.wait_for_selector("[data-unsubscribed]")
    assert Follow.objects.get(pk=follow.pk).email_live is False
    assert errors == []


def test_times_are_entered_and_shown_in_the_readers_time_zone(web_server, chromium, client):  # noqa: F811
    room = RoomFactory(title="Seoul evening show")
    context = chromium.new_context(viewport=DESKTOP, timezone_id="Asia/Seoul", locale="en-GB")
    client.force_login(room.owner)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web_server}]
    )
    page = context.new_page()
    page.goto(f"{web_server}/dashboard/schedule/")
    assert page.inner_text("label[for=id_starts_at]") == "Starts at (your time)"
    day = (timezone.now() + timedelta(days=2)).date()
    page.fill("#id_title", "Evening in Seoul")
    page.fill("#id_starts_at", f"{day:%Y-%m-%d}T20:30")  # 20:30 in Seoul is 11:30 UTC
    page.click("form.form button[type=submit]")
    page.wait_for_selector("[data-schedule-entries]")

    entry = ScheduledStream.objects.get(room=room)
    assert (entry.starts_at.hour, entry.starts_at.minute) == (11, 30) and entry.starts_at.date() == day
    # In the page's language (English: a 12-hour clock), in Seoul's time, not the server's UTC.
    shown = page.inner_text("[data-schedule-entries] time")
    assert SEOUL_EVENING.search(shown) and "UTC" not in shown, shown
    page.goto(f"{web_server}/rooms/{room.pk}/")
    assert SEOUL_EVENING.search(page.inner_text(f'[data-scheduled="{entry.pk}"] time'))
    context.close()
