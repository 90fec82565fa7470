from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Category, Room
from streamlite.models import TimeStampedModel
from streams.models import Stream


class ScheduledStream(TimeStampedModel):
    """A stream the streamer announces ahead of time; linked to the stream that goes live near it."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="scheduled_streams")
    title = models.CharField(_("title"), max_length=100)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_streams"
    )
    starts_at = models.DateTimeField(_("starts at"))
    stream = models.OneToOneField(
        Stream, null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_as"
    )
    # Set once, by the worker that sends the "starts soon" reminders: they go out at most once.
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at"], name="scheduled_stream_starts_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d %H:%M})"


class Reminder(models.Model):
    """A viewer's "Remind me" on a scheduled stream."""

    scheduled = models.ForeignKey(ScheduledStream, on_delete=models.CASCADE, related_name="reminders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheduled", "user"], name="one_reminder_per_user")]

    def __str__(self) -> str:
        return f"{self.user} ← {self.scheduled}"
