from django.contrib import admin

from accounts.admin import StaffModelAdmin
from schedule.models import Reminder, ScheduledStream


@admin.register(ScheduledStream)
class ScheduledStreamAdmin(StaffModelAdmin):
    list_display = ("title", "room", "starts_at", "stream", "reminded_at")
    list_filter = ("starts_at",)
    search_fields = ("title", "room__title", "room__owner__username")
    raw_id_fields = ("room", "stream")
    list_select_related = ("room", "stream__room")


@admin.register(Reminder)
class ReminderAdmin(StaffModelAdmin):
    list_display = ("user", "scheduled", "created_at")
    search_fields = ("user__username", "scheduled__title")
    list_select_related = ("user", "scheduled")
    raw_id_fields = ("user", "scheduled")
