from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room
from streamlite.models import TimeStampedModel


class PublishRefusal(models.TextChoices):
    """Why the ingest refused a room's publisher; the label is what its dashboard shows."""

    NOT_APPROVED = (
        "not_approved",
        _("Streaming needs approval: apply from your dashboard and wait for staff."),
    )
    LIVE_QUOTA = "live_quota", _("You are already live as often at once as your account allows.")
    ALREADY_LIVE = "already_live", _("Another encoder is already publishing to this room with your key.")


class EndReason(models.TextChoices):
    """Why a stream ended (Stream.end_reason), in words staff read in the admin."""

    PUBLISH_DONE = "publish_done", _("The streamer stopped")
    HEARTBEAT_LOST = "heartbeat_lost", _("The ingest stopped reporting")
    INGEST_LOST = "ingest_lost", _("Gone from the ingest")
    REPLACED = "replaced", _("Replaced by a new publish")
    STAFF = "staff", _("Ended by staff")


class LadderState(models.TextChoices):
    """Where a live stream's quality ladder stands; the label is what the streamer's dashboard shows."""

    PENDING = "pending", _("The quality ladder is starting.")
    RUNNING = "running", _("Viewers can pick a lower quality: the quality ladder is on.")
    ROOM_OFF = "room_off", _("The quality ladder is off for this room: viewers get your source quality only.")
    PLAN_OFF = "plan_off", _("Your plan has no quality ladder: viewers get your source quality only.")
    LIMIT = (
        "limit",
        _(
            "The site transcodes as many streams as it can at the moment: viewers get your source quality only."
        ),
    )
    SITE_OFF = "site_off", _("The quality ladder is off on this site: viewers get your source quality only.")
    TOO_SMALL = (
        "too_small",
        _("Your stream is at or below the lowest quality: there is nothing to make below it."),
    )
    FAILED = "failed", _("The quality ladder failed: viewers get your source quality only.")
    ENDED = "ended", _("The quality ladder has stopped.")


class LadderError(models.TextChoices):
    """Why a stream's ladder failed (Stream.ladder_error)."""

    SOURCE = "source", _("Your stream's codecs could not be transcoded.")
    RESOLUTION = "resolution", _("Your encoder changed its resolution during the stream.")
    CRASHED = "crashed", _("The transcoder stopped too often.")


class Stream(TimeStampedModel):
    class Status(models.TextChoices):
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="streams")
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.LIVE, db_index=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    client_id = models.CharField(_("ingest client id"), max_length=64, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    bitrate_kbps = models.PositiveIntegerField(null=True, blank=True)
    fps = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    resolution = models.CharField(max_length=20, blank=True)
    video_codec = models.CharField(max_length=20, blank=True)
    audio_codec = models.CharField(max_length=20, blank=True)
    # Server-side file written by the ingest (on_record_done); the VOD job reads it, viewers never see it.
    recording_path = models.CharField(max_length=500, blank=True)
    # The latest frame taken while live (streams.previews); it stays once the stream has ended.
    preview = models.ImageField(upload_to="previews/", blank=True, editable=False)
    # The live quality ladder: run by one worker's transcoder (streams.transcoder), reported every tick.
    ladder_state = models.CharField(max_length=10, choices=LadderState.choices, default=LadderState.PENDING)
    ladder_error = models.CharField(max_length=10, choices=LadderError.choices, blank=True)
    ladder_rungs = models.JSONField(default=list, blank=True)
    ladder_node = models.CharField(max_length=200, blank=True)
    ladder_pid = models.PositiveIntegerField(null=True, blank=True)
    ladder_restarts = models.PositiveSmallIntegerField(default=0)
    ladder_seen_at = models.DateTimeField(null=True, blank=True)
    # The source's height when the ladder started: another one means the encoder changed resolution.
    ladder_source_height = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["room"], condition=models.Q(status="live"), name="one_live_stream_per_room"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="stream_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room} @ {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.ended_at - self.started_at) if self.ended_at else None


class RoomRecord(models.Model):
    """The stats of one past (or current) stream of a room (seed 000's room_records)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="records")
    stream = models.OneToOneField(Stream, on_delete=models.CASCADE, related_name="record")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    unique_viewers = models.PositiveIntegerField(default=0)
    peak_viewers = models.PositiveIntegerField(default=0)
    total_comments = models.PositiveIntegerField(default=0)
    avg_watch_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Record of {self.stream}"


class ViewerSample(models.Model):
    """The viewer count of a live stream at one moment: the points of the dashboard's viewers chart."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="viewer_samples")
    at = models.DateTimeField()
    viewers = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["stream", "at"])]

    def __str__(self) -> str:
        return f"{self.viewers} viewers @ {self.at:%H:%M:%S}"
