"""Channel trends for the streamer dashboard: new followers, peak and total viewers and hours streamed,
week by week over the last 30 or 90 days, and the bar charts that show them (SVG drawn on the server:
no chart script, nothing for the Content-Security-Policy to refuse)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext_lazy as _

from rooms.models import Follow, Room
from streams.models import Stream

TREND_DAYS = (30, 90)


@dataclass
class Week:
    start: date
    new_followers: int = 0
    peak_viewers: int = 0
    total_viewers: int = 0
    seconds_streamed: float = 0

    @property
    def hours_streamed(self) -> float:
        return round(self.seconds_streamed / 3600, 1)


@dataclass
class Trends:
    days: int
    weeks: list[Week] = field(default_factory=list)
    follower_count: int = 0

    def total(self, name: str) -> float:
        return sum(getattr(week, name) for week in self.weeks)

    @property
    def peak_viewers(self) -> int:
        return max((week.peak_viewers for week in self.weeks), default=0)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def channel_trends(*, room: Room, days: int, now: datetime | None = None) -> Trends:
    """The room's weeks (Monday to Sunday, in the site's time zone) that overlap the last ``days`` days.
    A stream counts in the week it started; one still live counts up to now. Two queries."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    first = _monday(timezone.localdate(since))
    weeks: dict[date, Week] = {}
    monday = first
    while monday <= timezone.localdate(now):
        weeks[monday] = Week(start=monday)
        monday += timedelta(days=7)

    follows = (
        Follow.objects.filter(followed_id=room.owner_id)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by()
    )
    follower_count = 0
    for row in follows:
        follower_count += row["count"]
        week = weeks.get(_monday(row["day"]))
        if week is not None and row["day"] >= timezone.localdate(since):
            week.new_followers += row["count"]

    streams = Stream.objects.filter(room=room, started_at__gte=since).select_related("record")
    for stream in streams:
        week = weeks.get(_monday(timezone.localdate(stream.started_at)))
        if week is None:
            continue
        record = getattr(stream, "record", None)
        if record is not None:
            week.peak_viewers = max(week.peak_viewers, record.peak_viewers)
            week.total_viewers += record.unique_viewers
        week.seconds_streamed += ((stream.ended_at or now) - stream.started_at).total_seconds()
    return Trends(days=days, weeks=list(weeks.values()), follower_count=follower_count)


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str


CHART_WIDTH = 320
CHART_HEIGHT = 140
CHART_PAD_TOP = 16
CHART_PAD_BOTTOM = 20
CHART_GAP = 4


def bar_chart(*, values: list[float], labels: list[str]) -> dict:
    """Bars of ``values`` in a CHART_WIDTH x CHART_HEIGHT view box, tallest at the top padding; each bar
    keeps its value and label for the tooltip. An all-zero series draws flat bars on the base line."""
    top = max(values, default=0) or 1
    plot_height = CHART_HEIGHT - CHART_PAD_TOP - CHART_PAD_BOTTOM
    slot = CHART_WIDTH / max(len(values), 1)
    base = CHART_HEIGHT - CHART_PAD_BOTTOM
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        height = max(value / top * plot_height, 1 if value else 0)
        bars.append(
            Bar(
                x=round(index * slot + CHART_GAP / 2, 1),
                y=round(base - height, 1),
                width=round(max(slot - CHART_GAP, 1), 1),
                height=round(height, 1),
                value=value,
                label=label,
            )
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "base": base,
        "top_value": max(values, default=0),
        "first_label": labels[0] if labels else "",
        "last_label": labels[-1] if labels else "",
    }


def trend_charts(trends: Trends) -> list[dict]:
    """The dashboard's four trend charts: a title, the period's figure and the weekly bars of each."""
    labels = [date_format(week.start, "MONTH_DAY_FORMAT") for week in trends.weeks]
    hours = [week.hours_streamed for week in trends.weeks]
    series = [
        (
            "followers",
            _("New followers"),
            [w.new_followers for w in trends.weeks],
            trends.total("new_followers"),
        ),
        ("peak", _("Peak viewers"), [w.peak_viewers for w in trends.weeks], trends.peak_viewers),
        (
            "viewers",
            _("Total viewers"),
            [w.total_viewers for w in trends.weeks],
            trends.total("total_viewers"),
        ),
        ("hours", _("Hours streamed"), hours, round(trends.total("seconds_streamed") / 3600, 1)),
    ]
    return [
        {
            "key": key,
            "title": title,
            "figure": number_format(figure, force_grouping=True),
            **bar_chart(values=values, labels=labels),
        }
        for key, title, values, figure in series
    ]
