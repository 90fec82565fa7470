from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Category, Room
from streamlite.models import TimeStampedModel
from streams.models import Stream


class Vod(TimeStampedModel):
    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        HIDDEN = "hidden", _("Hidden")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="vods")
    stream = models.OneToOneField(
        Stream, null=True, blank=True, on_delete=models.SET_NULL, related_name="vod"
    )
    title = models.CharField(_("title"), max_length=100)
    # Copied from the room when the VOD is made; the owner edits them afterwards.
    description = models.TextField(_("description"), max_length=5000, blank=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vods",
        verbose_name=_("category"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    playlist_path = models.CharField(max_length=300, blank=True)
    thumbnail = models.ImageField(upload_to="thumbnails/", blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    view_count = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("VOD")
        verbose_name_plural = _("VODs")
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="vod_progress_le_100"),
        ]

    def __str__(self) -> str:
        return self.title
