from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room
from streamlite.models import TimeStampedModel


class RelayError(models.TextChoices):
    """Why a destination's relay failed; the label is what its owner reads."""

    REFUSED = "refused", _("The platform refused the stream: check the stream key.")
    UNREACHABLE = "unreachable", _("The platform could not be reached.")
    DROPPED = "dropped", _("The connection to the platform dropped.")
    ADDRESS = "address", _("This address is not allowed.")
    KEY = "key", _("The stream key could not be read: enter it again.")
    TLS = "tls", _("The platform's certificate could not be verified.")


class PlayoutError(models.TextChoices):
    """Why a playout failed; the label is what its owner reads."""

    SOURCE = "source", _("The video could not be read.")
    REFUSED = "refused", _("The ingest refused the broadcast: was the room already live?")
    LOST = "lost", _("The worker running the broadcast stopped.")
    BROKE = "broke", _("The broadcast stopped with an error.")
    LOOP = "loop", _("The video could not be played from its start again to loop it.")
    HOURS = "hours", _("Your plan's playout hours for this month are used up.")


class Destination(TimeStampedModel):
    """Another platform a room's live stream is relayed to (ffmpeg -c copy, supervised by a worker)."""

    class State(models.TextChoices):
        STOPPED = "stopped", _("Stopped")
        CONNECTING = "connecting", _("Connecting")
        LIVE = "live", _("Live")
        ERROR = "error", _("Error")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="restream_destinations")
    name = models.CharField(_("name"), max_length=80)
    url = models.CharField(_("server URL"), max_length=500)
    # Fernet token of the platform's stream key (settings.RESTREAM_KEYS_SECRET); never shown back.
    key_encrypted = models.TextField(editable=False)
    key_hint = models.CharField(max_length=8, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.STOPPED)
    error = models.CharField(max_length=20, choices=RelayError.choices, blank=True)
    bitrate_kbps = models.PositiveIntegerField(null=True, blank=True)
    live_since = models.DateTimeField(null=True, blank=True)
    # The worker whose supervisor runs the relay, and when it last said so (an orphan past RELAY_ORPHAN_S).
    node = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(url__startswith="rtmp://") | models.Q(url__startswith="rtmps://"),
                name="restream_destination_rtmp_url",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Playout(TimeStampedModel):
    """A VOD or an uploaded video broadcast live in its room at a time, through the ingest as OBS would
    (seed 003's stream requests and sessions)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        SCHEDULED = "scheduled", _("Scheduled")
        STARTING = "starting", _("Starting")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="playouts")
    vod = models.ForeignKey("vod.Vod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    upload = models.FileField(_("video file"), upload_to="playouts/", blank=True)
    title = models.CharField(_("title"), max_length=100)
    starts_at = models.DateTimeField(_("starts at"))
    loop = models.BooleanField(_("loop"), default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED, db_index=True)
    error = models.CharField(max_length=10, choices=PlayoutError.choices, blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    node = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]

    def __str__(self) -> str:
        return self.title
