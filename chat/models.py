from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rooms.models import Room


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
