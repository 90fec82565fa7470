from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import EmailAlert, Notification
from notifications.tasks import schedule_reminders_send
from schedule.models import Reminder, ScheduledStream
from streams.models import Stream
from tests.factories import CategoryFactory, FollowFactory, RoomFactory, UserFactory
from tests.notifications.conftest import hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return RoomFactory(owner=UserFactory(display_name="Ann Streams"), title="Ann's room")


def api_for(user) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def scheduled(room, *, in_minutes: int, title: str = "Speedrun night") -> ScheduledStream:
    return ScheduledStream.objects.create(
        room=room, title=title, starts_at=timezone.now() + timedelta(minutes=in_minutes)
    )


def test_the_owner_announces_a_stream_and_anyone_reads_the_schedule(room):
    category = CategoryFactory(slug="games")
    starts = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    response = api_for(room.owner).post(
        f"/api/rooms/{room.pk}/schedule/",
        {"title": "Speedrun night", "starts_at": starts.isoformat(), "category": "games"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Speedrun night" and body["category"]["slug"] == category.slug
    assert body["stream"] is None and body["room"] == room.pk

    listing = api_for(None).get(f"/api/rooms/{room.pk}/schedule/")
    assert listing.status_code == 200
    assert [entry["id"] for entry in listing.json()["results"]] == [body["id"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "x", "starts_at": "yesterday"}, "starts_at"),
        ({"title": "x", "starts_at": "2001-01-01T10:00:00Z"}, "starts_at"),
        ({"title": "x", "starts_at": "2999-01-01T10:00:00Z"}, "starts_at"),
        ({"title": "   ", "starts_at": "2999-01-01T10:00:00Z"}, "title"),
        ({"starts_at": "2030-01-01T10:00:00Z"}, "title"),
        ({"title": "x", "starts_at": "2030-01-01T10:00:00Z", "category": "no-such"}, "category"),
    ],
)
def test_bad_announcements_get_a_field_error(room, body, field):
    response = api_for(room.owner).post(f"/api/rooms/{room.pk}/schedule/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ScheduledStream.objects.exists()


def test_only_the_owner_announces_or_removes(room):
    other = api_for(UserFactory())
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert (
        other.post(f"/api/rooms/{room.pk}/schedule/", {"title": "x", "starts_at": future}).status_code == 403
    )
    assert api_for(None).post(
        f"/api/rooms/{room.pk}/schedule/", {"title": "x", "starts_at": future}
    ).status_code in (401, 403)
    entry = scheduled(room, in_minutes=60)
    assert other.delete(f"/api/schedule/{entry.pk}/").status_code == 403
    assert api_for(room.owner).delete(f"/api/schedule/{entry.pk}/").status_code == 204
    assert api_for(None).get("/api/rooms/999999/schedule/").status_code == 404


def test_going_live_near_a_scheduled_time_links_the_stream(
    client, room, celery_eager, django_capture_on_commit_callbacks, settings
):
    settings.RTMP_HOOK_SECRET = "test-hook-secret"
    far = scheduled(room, in_minutes=24 * 60, title="Tomorrow")
    near = scheduled(room, in_minutes=10, title="Soon")
    with django_capture_on_commit_callbacks(execute=True):
        assert hook(client, "publish", room).status_code == 302
    stream = Stream.objects.get(room=room)
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.stream == stream and far.stream is None
    # A linked entry leaves the upcoming lists.
    listing = api_for(None).get(f"/api/rooms/{room.pk}/schedule/").json()["results"]
    assert [entry["title"] for entry in listing] == ["Tomorrow"]


def test_going_live_far_from_any_scheduled_time_links_nothing(
    client, room, celery_eager, django_capture_on_commit_callbacks, settings
):
    settings.RTMP_HOOK_SECRET = "test-hook-secret"
    entry = scheduled(room, in_minutes=3 * 60)
    with django_capture_on_commit_callbacks(execute=True):
        assert hook(client, "publish", room).status_code == 302
    entry.refresh_from_db()
    assert entry.stream is None


def test_remind_me_notifies_once_ten_minutes_before_and_mails_who_opted_in(room, smtp_inbox, celery_eager):
    soon = scheduled(room, in_minutes=9)
    later = scheduled(room, in_minutes=60, title="Later")
    mailed = FollowFactory(followed=room.owner, email_live=True).follower
    bell_only = UserFactory()
    for user in (mailed, bell_only):
        assert api_for(user).post(f"/api/schedule/{soon.pk}/remind/").status_code == 204
        assert api_for(user).post(f"/api/schedule/{later.pk}/remind/").status_code == 204
    assert api_for(bell_only).post(f"/api/schedule/{soon.pk}/remind/").status_code == 204  # idempotent

    schedule_reminders_send.delay()
    schedule_reminders_send.delay()  # the next beat tick sends nothing again
    reminders = Notification.objects.filter(kind=Notification.Kind.STREAM_REMINDER)
    assert sorted(reminders.values_list("recipient_id", flat=True)) == sorted([mailed.pk, bell_only.pk])
    assert all("Speedrun night" in n.message for n in reminders)
    (message,) = smtp_inbox.wait_for(1)
    assert message["To"] == mailed.email and "Speedrun night" in message["Subject"]
    assert EmailAlert.objects.get().scheduled == soon


def test_a_reminder_can_be_cancelled_and_not_set_on_a_started_stream(room):
    entry = scheduled(room, in_minutes=60)
    viewer = api_for(user := UserFactory())
    viewer.post(f"/api/schedule/{entry.pk}/remind/")
    assert viewer.delete(f"/api/schedule/{entry.pk}/remind/").status_code == 204
    assert not Reminder.objects.filter(user=user).exists()
    started = ScheduledStream.objects.create(
        room=room, title="x", starts_at=timezone.now() - timedelta(minutes=5)
    )
    response = viewer.post(f"/api/schedule/{started.pk}/remind/")
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert viewer.post("/api/schedule/999999/remind/").status_code == 404


def test_the_ical_feed_lists_upcoming_streams_escaped_and_folded(room):
    entry = scheduled(room, in_minutes=120, title="Speedrun, part 2; the " + "long " * 12 + "one")
    scheduled(room, in_minutes=-120, title="Long past")
    response = Client().get(f"/u/{room.owner.username}/schedule.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Speedrun\\, part 2\\; the long" in unfolded
    assert f"UID:scheduled-stream-{entry.pk}@" in unfolded
    assert f"DTSTART:{entry.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}" in unfolded
    assert "Long past" not in unfolded
    assert Client().get("/u/nobody-here/schedule.ics").status_code == 404


def test_home_profile_and_room_show_the_schedule_and_remind_me_works(room):
    entry = scheduled(room, in_minutes=120)
    for url in ("/", f"/u/{room.owner.username}/", f"/rooms/{room.pk}/"):
        page = Client().get(url)
        assert page.status_code == 200
        assert f'data-scheduled="{entry.pk}"'.encode() in page.content, url

    viewer = UserFactory()
    browser = Client()
    browser.force_login(viewer)
    response = browser.post(f"/schedule/{entry.pk}/remind/", {"on": "1", "next": f"/rooms/{room.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.pk}/"
    assert Reminder.objects.filter(scheduled=entry, user=viewer).exists()
    assert b"Reminder set" in browser.get(f"/rooms/{room.pk}/").content


def test_the_dashboard_schedule_page_adds_and_removes(room):
    browser = Client()
    browser.force_login(room.owner)
    starts = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = browser.post("/dashboard/schedule/", {"room": room.pk, "title": "Friday", "starts_at": starts})
    assert response.status_code == 302
    entry = ScheduledStream.objects.get(title="Friday")
    refused = browser.post(
        "/dashboard/schedule/", {"room": room.pk, "title": "Past", "starts_at": "2001-01-01T10:00"}
    )
    assert refused.status_code == 200 and not ScheduledStream.objects.filter(title="Past").exists()
    stranger = Client()
    stranger.force_login(UserFactory())
    assert stranger.post(f"/dashboard/schedule/{entry.pk}/delete/").status_code == 404
    assert browser.post(f"/dashboard/schedule/{entry.pk}/delete/").status_code == 302
    assert not ScheduledStream.objects.exists()
