import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room


def endpoint_secret_new() -> str:
    return secrets.token_urlsafe(32)


class Event(models.TextChoices):
    STREAM_STARTED = "stream.started", _("Stream started")
    STREAM_ENDED = "stream.ended", _("Stream ended")
    VOD_READY = "vod.ready", _("VOD ready")
    FOLLOW_CREATED = "follow.created", _("New follower")
    CLIP_CREATED = "clip.created", _("Clip created")
    # Opt-in: one delivery per message, sent from the chat archive's flush, seconds after the message.
    CHAT_MESSAGE = "chat.message", _("Chat message")


# The "send test" button's event: never subscribed to, always sent when asked.
TEST_EVENT = "webhook.test"


class Endpoint(models.Model):
    """Where the owner wants events sent: their rooms' (one room's when set), or the whole site's (staff)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    site_wide = models.BooleanField(default=False)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    # The receiver checks signatures with it, so it is kept as given, and shown once, when created.
    secret = models.CharField(max_length=64, default=endpoint_secret_new, editable=False)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="webhook_endpoint_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(site_wide=True, room__isnull=False), name="webhook_site_wide_has_no_room"
            )
        ]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The same event to the same endpoint is one delivery, however often its task runs.
    event_id = models.UUIDField(default=uuid.uuid4)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="one_delivery_per_endpoint_event")
        ]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"
