from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room
from schedule.models import ScheduledStream
from streams.models import Stream
from vod.models import Vod


class Notification(models.Model):
    class Kind(models.TextChoices):
        LIVE_STARTED = "live_started", _("Went live")
        NEW_VOD = "new_vod", _("New VOD")
        NEW_FOLLOWER = "new_follower", _("New follower")
        SYSTEM = "system", _("System")
        STREAM_REMINDER = "stream_reminder", _("Stream reminder")

    # No index of its own: notification_recipient_idx starts with it, and every index slows the fan-out.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    vod = models.ForeignKey(Vod, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The stream a go-live alert is about: the unique constraint below makes its fan-out idempotent.
    stream = models.ForeignKey(Stream, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=300)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            # The prune job's scan: read notifications by age.
            models.Index(
                fields=["created_at"], condition=models.Q(read_at__isnull=False), name="notification_read_idx"
            ),
        ]
        # Replayed hooks, duplicated tasks and retries insert the same rows again: the database keeps one.
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "stream"],
                condition=models.Q(kind="live_started"),
                name="one_live_notification_per_stream",
            ),
            models.UniqueConstraint(
                fields=["recipient", "vod"],
                condition=models.Q(kind="new_vod"),
                name="one_notification_per_vod",
            ),
            # Unfollowing and following again must not pile up alerts: one unread per follower at most.
            models.UniqueConstraint(
                fields=["recipient", "actor"],
                condition=models.Q(kind="new_follower", read_at__isnull=True),
                name="one_unread_new_follower_per_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"


class EmailAlert(models.Model):
    """An alert waiting to be mailed to a follower who opted in, or mailed; one mail carries every alert
    of a streamer that waited for it (at most one mail per streamer and reader per interval)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    streamer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Notification.Kind.choices)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    stream = models.ForeignKey(Stream, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    vod = models.ForeignKey(Vod, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scheduled = models.ForeignKey(
        ScheduledStream, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A failed mail is tried again from then on; an alert waiting for the streamer's interval too.
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(status="pending"), name="email_alert_due_idx"),
            models.Index(fields=["recipient", "streamer", "-sent_at"], name="email_alert_last_sent_idx"),
        ]
        # Retried fan-outs queue the same alert again: the database keeps one.
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "stream"],
                condition=models.Q(kind="live_started"),
                name="one_live_email_alert_per_stream",
            ),
            models.UniqueConstraint(
                fields=["recipient", "vod"],
                condition=models.Q(kind="new_vod"),
                name="one_vod_email_alert_per_vod",
            ),
            models.UniqueConstraint(
                fields=["recipient", "scheduled"],
                condition=models.Q(kind="stream_reminder"),
                name="one_reminder_email_alert_per_scheduled_stream",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} e-mail → {self.recipient} ({self.status})"
