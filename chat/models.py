from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from rooms.models import Room
from streamlite.models import TimeStampedModel

# What ``:name:`` may hold in a message; static/js/emotes.js matches the same.
EMOTE_NAME_PATTERN = r"[A-Za-z0-9_]{2,32}"


class ChatBan(models.Model):
    """A ban or timeout from chatting, in one room or (room empty) sitewide. Messages live in MongoDB."""

    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_bans")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: permanent.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "room"])]

    def __str__(self) -> str:
        where = self.room or _("sitewide")
        return f"{self.user} banned in {where}"


class PinnedMessage(models.Model):
    """The one message a room's owner or moderators pinned above its chat. ``message`` keeps what viewers
    are shown (the pin event's shape), so a join needs no archive read."""

    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="pinned_message")
    message_id = models.BigIntegerField()
    message = models.JSONField()
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"message {self.message_id} pinned in {self.room}"


class Emote(TimeStampedModel):
    """A picture ``:name:`` stands for in chat and danmaku: a room's (its streamer's) or, with no room,
    the whole site's (staff's). Names are unique, ignoring case, within their scope."""

    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="emotes")
    name = models.CharField(
        _("name"),
        max_length=32,
        validators=[
            RegexValidator(
                f"^{EMOTE_NAME_PATTERN}$",
                _("2 to 32 letters (a-z, A-Z), digits or underscores."),
                code="emote_name",
            )
        ],
        help_text=_("Typed as :name: in chat."),
    )
    image = models.ImageField(_("image"), upload_to="emotes/")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "room", Lower("name"), condition=models.Q(room__isnull=False), name="unique_room_emote_name"
            ),
            models.UniqueConstraint(
                Lower("name"), condition=models.Q(room__isnull=True), name="unique_site_emote_name"
            ),
        ]

    def __str__(self) -> str:
        return f":{self.name}:"


class EmoteUse(models.Model):
    """How many accepted messages in a room used an emote (a message counts each emote once)."""

    emote = models.ForeignKey(Emote, on_delete=models.CASCADE, related_name="uses")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["emote", "room"], name="unique_emote_use_per_room")]

    def __str__(self) -> str:
        return f"{self.emote} used {self.count} times in room {self.room_id}"


class LevelProgress(models.Model):
    """What a user's level is computed from (chat.levels): minutes watched live, minutes with a message."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="level_progress"
    )
    watch_minutes = models.PositiveIntegerField(default=0)
    chat_minutes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"level progress of {self.user_id}"
