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
    # The source rung's media playlist (the recording remuxed); the lower rungs are its renditions.
    playlist_path = models.CharField(max_length=300, blank=True)
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    height = models.PositiveSmallIntegerField(null=True, blank=True)
    # The source rung's peak bit rate (bits/s), for the master playlist's BANDWIDTH.
    bandwidth = models.PositiveIntegerField(default=0)
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


class VodRendition(TimeStampedModel):
    """A rung of the quality ladder below the source, transcoded from the recording after the VOD is ready."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    vod = models.ForeignKey(Vod, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=20)
    height = models.PositiveSmallIntegerField()
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    video_kbps = models.PositiveIntegerField()
    audio_kbps = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    playlist_path = models.CharField(max_length=300, blank=True)
    bandwidth = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-height"]
        constraints = [
            models.UniqueConstraint(fields=["vod", "name"], name="vod_rendition_unique_name"),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="vod_rendition_progress_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vod_id} {self.name}"
