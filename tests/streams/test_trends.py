"""Channel trends on the dashboard: weekly new followers, peak and total viewers, hours streamed; the live
viewers chart's data in the status answer."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from rooms.models import Follow
from streams.models import RoomRecord
from streams.trends import bar_chart, channel_trends
from tests.factories import FollowFactory, LiveRoomFactory, RoomFactory, StreamFactory

pytestmark = pytest.mark.django_db

# A Wednesday noon: its week began on Monday the 2nd.
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=timezone.get_current_timezone())


def past_stream(room, *, started_at, hours, peak, unique):
    stream = StreamFactory(room=room, started_at=started_at, ended_at=started_at + timedelta(hours=hours))
    RoomRecord.objects.create(
        room=room, stream=stream, started_at=started_at, peak_viewers=peak, unique_viewers=unique
    )
    return stream


def followed_at(user, when):
    follow = FollowFactory(followed=user)
    Follow.objects.filter(pk=follow.pk).update(created_at=when)


def test_trends_sum_each_week_and_leave_out_what_is_older():
    room = RoomFactory()
    past_stream(room, started_at=NOW - timedelta(days=1), hours=2, peak=30, unique=80)
    past_stream(room, started_at=NOW - timedelta(days=2), hours=1.5, peak=50, unique=20)
    past_stream(room, started_at=NOW - timedelta(days=8), hours=1, peak=10, unique=15)
    past_stream(room, started_at=NOW - timedelta(days=40), hours=9, peak=999, unique=999)  # before 30 days
    StreamFactory(started_at=NOW - timedelta(days=1))  # another room's
    followed_at(room.owner, NOW - timedelta(days=1))
    followed_at(room.owner, NOW - timedelta(days=3))
    followed_at(room.owner, NOW - timedelta(days=60))

    trends = channel_trends(room=room, days=30, now=NOW)

    assert [week.start.isoformat() for week in trends.weeks][-2:] == ["2026-11-30", "2026-12-07"]
    assert len(trends.weeks) == 5  # the week of Monday 9 Nov (30 days back) to this one
    this_week, last_week = trends.weeks[-1], trends.weeks[-2]
    assert (this_week.peak_viewers, this_week.total_viewers, this_week.hours_streamed) == (50, 100, 3.5)
    assert (last_week.peak_viewers, last_week.total_viewers, last_week.hours_streamed) == (10, 15, 1.0)
    assert this_week.new_followers == 1 and last_week.new_followers == 1  # Tuesday; the Sunday before
    assert trends.total("new_followers") == 2 and trends.follower_count == 3
    assert trends.peak_viewers == 50


def test_the_90_day_view_reaches_older_streams():
    room = RoomFactory()
    past_stream(room, started_at=NOW - timedelta(days=40), hours=9, peak=99, unique=120)
    trends = channel_trends(room=room, days=90, now=NOW)
    assert len(trends.weeks) == 14
    assert trends.peak_viewers == 99 and trends.total("total_viewers") == 120


def test_a_live_stream_counts_its_hours_up_to_now():
    room = LiveRoomFactory()
    stream = room.streams.get()
    stream.started_at = timezone.now() - timedelta(hours=3)
    stream.save()
    trends = channel_trends(room=room, days=30)
    assert trends.total("seconds_streamed") == pytest.approx(3 * 3600, abs=60)


def test_bars_scale_to_the_tallest_and_zero_draws_no_bar():
    chart = bar_chart(values=[0, 5, 10], labels=["a", "b", "c"])
    heights = [bar.height for bar in chart["bars"]]
    assert heights[0] == 0 and heights[2] == chart["base"] - 16 and heights[1] == heights[2] / 2
    assert [bar.x for bar in chart["bars"]] == sorted(bar.x for bar in chart["bars"])
    assert bar_chart(values=[0, 0], labels=["a", "b"])["top_value"] == 0


def test_dashboard_shows_trends_for_30_or_90_days(client):
    room = RoomFactory()
    past_stream(room, started_at=timezone.now() - timedelta(days=40), hours=2, peak=77, unique=5)
    client.force_login(room.owner)

    html = client.get("/dashboard/").content.decode()
    assert 'data-dash-trends data-days="30"' in html
    assert 'data-value="77"' not in html

    html = client.get("/dashboard/?trends=90").content.decode()
    assert 'data-dash-trends data-days="90"' in html
    assert 'data-value="77"' in html
    assert html.count('class="dash-trend__bar"') == 4 * len(channel_trends(room=room, days=90).weeks)

    # Anything else is the default period, never an error.
    assert 'data-days="30"' in client.get("/dashboard/?trends=7'").content.decode()


def test_status_names_the_live_streams_viewer_samples(client):
    room = LiveRoomFactory()
    client.force_login(room.owner)
    body = client.get("/dashboard/status/").json()
    assert body["viewers_url"] == f"/dashboard/streams/{room.streams.get().pk}/viewers/"
    html = client.get("/dashboard/").content.decode()
    assert f'data-url="/dashboard/streams/{room.streams.get().pk}/viewers/"' in html


def test_status_has_no_viewer_samples_when_offline(client):
    room = RoomFactory()
    client.force_login(room.owner)
    assert client.get("/dashboard/status/").json()["viewers_url"] is None


def test_trends_read_in_the_readers_language(client):
    room = RoomFactory()
    client.force_login(room.owner)
    client.cookies["django_language"] = "vi"
    html = client.get("/dashboard/").content.decode()
    assert "Xu hướng kênh" in html and "Số giờ phát" in html and "90 ngày" in html
