from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin import StaffModelAdmin
from notifications.models import EmailAlert, Notification


@admin.register(Notification)
class NotificationAdmin(StaffModelAdmin):
    list_display = ("recipient", "kind", "actor", "message", "is_read", "created_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    date_hierarchy = "created_at"
    search_fields = ("recipient__username", "actor__username", "message")
    list_select_related = ("recipient", "actor")
    autocomplete_fields = ("recipient", "actor", "room", "vod")

    @admin.display(description=_("read"), boolean=True, ordering="read_at")
    def is_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


@admin.register(EmailAlert)
class EmailAlertAdmin(StaffModelAdmin):
    list_display = ("recipient", "streamer", "kind", "status", "attempts", "due_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("recipient__username", "streamer__username")
    list_select_related = ("recipient", "streamer")
    raw_id_fields = ("recipient", "streamer", "room", "stream", "vod", "scheduled")
