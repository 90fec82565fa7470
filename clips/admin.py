from django.contrib import admin

from accounts.admin import StaffModelAdmin
from clips.models import Clip
from clips.services import clip_delete


@admin.register(Clip)
class ClipAdmin(StaffModelAdmin):
    list_display = (
        "title",
        "room",
        "created_by",
        "source",
        "status",
        "duration_s",
        "view_count",
        "created_at",
    )
    list_filter = ("status", "source", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("slug", "title", "room__title", "created_by__username")
    list_select_related = ("room", "created_by")
    # Made by the clip pipeline; staff rename or delete.
    readonly_fields = (
        "slug",
        "room",
        "stream",
        "vod",
        "created_by",
        "source",
        "status",
        "start_ms",
        "requested_s",
        "duration_s",
        "playlist_path",
        "thumbnail",
        "view_count",
        "failure_reason",
        "created_at",
        "updated_at",
    )

    # Through the service, so the stored video goes with the row (the audit mixin logs the deletion).
    def delete_model(self, request, obj):
        clip_delete(clip=obj, user=None)

    def delete_queryset(self, request, queryset):
        for clip in queryset:
            self.delete_model(request, clip)
