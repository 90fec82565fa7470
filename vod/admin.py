from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffModelAdmin
from vod.models import Vod, VodRendition
from vod.services import vod_hide


class VodRenditionInline(admin.TabularInline):
    """The quality ladder's rungs as the pipeline made them, with why one failed."""

    model = VodRendition
    extra = 0
    can_delete = False
    fields = ("name", "height", "status", "progress", "bandwidth", "size_bytes", "failure_reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Vod)
class VodAdmin(StaffModelAdmin):
    list_display = (
        "title",
        "room",
        "status",
        "progress",
        "duration_s",
        "view_count",
        "size_bytes",
        "created_at",
    )
    list_filter = ("status", "category", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("title", "room__title", "room__owner__username")
    list_select_related = ("room",)
    autocomplete_fields = ("room", "category")
    # Written by the VOD pipeline from the recording; staff change title and status only.
    readonly_fields = (
        "stream",
        "progress",
        "duration_s",
        "playlist_path",
        "width",
        "height",
        "bandwidth",
        "size_bytes",
        "view_count",
        "failure_reason",
        "created_at",
        "updated_at",
    )
    inlines = [VodRenditionInline]
    actions = ["hide"]

    @admin.action(description=_("Hide selected VODs"), permissions=["change"])
    def hide(self, request, queryset):
        hidden = 0
        for vod in queryset.exclude(status=Vod.Status.HIDDEN):
            vod_hide(vod=vod, by=request.user)
            self.record_staff_action(request, "vod_hide", vod)
            hidden += 1
        self.message_user(
            request,
            ngettext("%(count)d VOD hidden.", "%(count)d VODs hidden.", hidden) % {"count": hidden},
            messages.SUCCESS,
        )


@admin.register(VodRendition)
class VodRenditionAdmin(StaffModelAdmin):
    """Every rung of every VOD: staff find the failed ones here (filter by status) with their reason."""

    list_display = ("vod", "name", "status", "progress", "size_bytes", "updated_at")
    list_filter = ("status", "name")
    list_select_related = ("vod",)
    search_fields = ("vod__title",)
    readonly_fields = (
        "vod",
        "name",
        "height",
        "width",
        "video_kbps",
        "audio_kbps",
        "status",
        "progress",
        "playlist_path",
        "bandwidth",
        "size_bytes",
        "failure_reason",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False
