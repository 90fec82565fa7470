from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from rooms.models import Room
from schedule.models import Reminder, ScheduledStream

# An entry stays listed this long after its start time unless a stream took it: streamers run late.
LISTED_AFTER_START = timedelta(minutes=30)


def schedule_upcoming(
    *, room: Room | None = None, owner: User | None = None, user: User | None = None
) -> QuerySet[ScheduledStream]:
    """Scheduled streams not yet started, soonest first; ``reminded`` tells whether ``user`` pressed
    "Remind me" (false for anonymous readers)."""
    entries = (
        ScheduledStream.objects.filter(
            starts_at__gte=timezone.now() - LISTED_AFTER_START,
            stream__isnull=True,
            room__owner__is_active=True,
        )
        .select_related("room__owner", "category")
        .order_by("starts_at", "id")
    )
    if room is not None:
        entries = entries.filter(room=room)
    if owner is not None:
        entries = entries.filter(room__owner=owner)
    if user is not None and user.is_authenticated:
        entries = entries.annotate(
            reminded=Exists(Reminder.objects.filter(scheduled=OuterRef("pk"), user_id=user.pk))
        )
    return entries


def scheduled_stream_of(*, pk: int) -> ScheduledStream | None:
    return ScheduledStream.objects.select_related("room__owner", "category").filter(pk=pk).first()


def reminders_due() -> QuerySet[ScheduledStream]:
    """Scheduled streams whose reminders should go out now: starting within the reminder lead time,
    not long past, and not reminded yet."""
    now = timezone.now()
    return ScheduledStream.objects.filter(
        reminded_at__isnull=True,
        starts_at__lte=now + timedelta(seconds=settings.SCHEDULE_REMIND_BEFORE_S),
        starts_at__gt=now - LISTED_AFTER_START,
    ).select_related("room__owner")


def reminder_user_ids(*, scheduled: ScheduledStream) -> QuerySet:
    return Reminder.objects.filter(scheduled=scheduled, user__is_active=True).values_list(
        "user_id", flat=True
    )
