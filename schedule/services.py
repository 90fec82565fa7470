from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from rooms.models import Category, Room
from schedule.models import Reminder, ScheduledStream
from streams.models import Stream

# A room announces this far ahead at most, and keeps this many upcoming entries at once.
SCHEDULE_HORIZON = timedelta(days=366)
UPCOMING_MAX = 50


@transaction.atomic
def scheduled_stream_create(
    *, room: Room, title: str, starts_at: datetime, category: Category | None = None
) -> ScheduledStream:
    """Announce a stream of the room; refused when in the past, too far ahead, or too many are upcoming."""
    now = timezone.now()
    errors = {}
    if not title.strip():
        errors["title"] = _("Give the stream a title.")
    if starts_at <= now:
        errors["starts_at"] = _("Choose a time in the future.")
    elif starts_at > now + SCHEDULE_HORIZON:
        errors["starts_at"] = _("Choose a time within a year.")
    if errors:
        raise ValidationError(errors)
    # The room's row lock makes two concurrent announcements count each other.
    Room.objects.select_for_update().filter(pk=room.pk).first()
    if ScheduledStream.objects.filter(room=room, starts_at__gt=now).count() >= UPCOMING_MAX:
        raise ValidationError(_("This room already has %(n)s upcoming streams.") % {"n": UPCOMING_MAX})
    scheduled = ScheduledStream(room=room, title=title.strip(), starts_at=starts_at, category=category)
    scheduled.full_clean(exclude=["room", "category", "stream"])
    scheduled.save()
    return scheduled


def scheduled_stream_delete(*, scheduled: ScheduledStream) -> None:
    scheduled.delete()


def reminder_set(*, scheduled: ScheduledStream, user: User, on: bool) -> bool:
    """Turn the user's reminder of a scheduled stream on or off (both idempotent); returns whether on."""
    if not on:
        Reminder.objects.filter(scheduled=scheduled, user=user).delete()
        return False
    if scheduled.starts_at <= timezone.now():
        raise ValidationError(_("This stream has already started."))
    try:
        with transaction.atomic():
            Reminder.objects.get_or_create(scheduled=scheduled, user=user)
    except IntegrityError:  # the same press twice at once: the other one made it
        pass
    return True


@transaction.atomic
def scheduled_stream_link(*, stream_id: int) -> ScheduledStream | None:
    """Link a stream that went live to the room's entry scheduled nearest its start, within the window."""
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None or ScheduledStream.objects.filter(stream=stream).exists():
        return None
    window = timedelta(seconds=settings.SCHEDULE_LINK_WINDOW_S)
    candidates = (
        ScheduledStream.objects.select_for_update()
        .filter(
            room_id=stream.room_id,
            stream__isnull=True,
            starts_at__gte=stream.started_at - window,
            starts_at__lte=stream.started_at + window,
        )
        .order_by("starts_at")
    )
    nearest = min(candidates, key=lambda entry: abs(entry.starts_at - stream.started_at), default=None)
    if nearest is not None:
        nearest.stream = stream
        nearest.save(update_fields=["stream", "updated_at"])
    return nearest


def reminders_claim(*, scheduled_id: int) -> bool:
    """Take the job of sending a scheduled stream's reminders; only one worker ever gets it."""
    return bool(
        ScheduledStream.objects.filter(pk=scheduled_id, reminded_at__isnull=True).update(
            reminded_at=timezone.now()
        )
    )
