import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room
from streamlite.models import TimeStampedModel
from streams.models import Stream
from vod.models import Vod


def new_slug() -> str:
    return secrets.token_urlsafe(9)


class Clip(TimeStampedModel):
    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        LIVE = "live", _("Live stream")
        VOD = "vod", _("VOD")

    slug = models.CharField(max_length=16, unique=True, default=new_slug, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="clips")
    stream = models.ForeignKey(Stream, null=True, blank=True, on_delete=models.SET_NULL, related_name="clips")
    vod = models.ForeignKey(Vod, null=True, blank=True, on_delete=models.SET_NULL, related_name="clips")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="clips"
    )
    title = models.CharField(_("title"), max_length=100)
    source = models.CharField(max_length=4, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    # Where the clip starts on its stream's timeline (the danmaku's vpos_ms) and how long it was asked to be.
    start_ms = models.PositiveBigIntegerField(default=0)
    requested_s = models.PositiveIntegerField()
    duration_s = models.FloatField(null=True, blank=True)
    playlist_path = models.CharField(max_length=300, blank=True)
    thumbnail = models.ImageField(upload_to="clips/", blank=True)
    view_count = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["room", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(requested_s__gt=0), name="clip_has_length"),
        ]

    def __str__(self) -> str:
        return self.title
