from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffModelAdmin
from rooms.admin import RoomAdmin
from rooms.models import Room
from rooms.templatetags.streamlite_tags import duration
from streams.models import EndReason, RoomRecord, Stream, ViewerSample
from streams.services import stream_end


class IngestWrittenAdmin(StaffModelAdmin):
    """Rows the ingest hooks and workers write: staff read them; a hand-made row would be a lie."""

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class EndReasonFilter(admin.SimpleListFilter):
    title = _("end reason")
    parameter_name = "end_reason"

    def lookups(self, request, model_admin):
        return EndReason.choices

    def queryset(self, request, queryset):
        return queryset.filter(end_reason=self.value()) if self.value() else queryset


@admin.register(Stream)
class StreamAdmin(IngestWrittenAdmin):
    # Few, short columns: the list fits a 1440 px screen; the rest is on each stream's page.
    list_display = ("room", "status", "started_at", "length", "reason", "quality")
    list_filter = ("status", EndReasonFilter, "started_at")
    date_hierarchy = "started_at"
    search_fields = ("room__title", "room__owner__username", "client_id")
    list_select_related = ("room",)
    actions = ["end_live_streams"]

    @admin.display(description=_("Duration"), ordering="ended_at")
    def length(self, stream: Stream) -> str:
        return duration(stream.duration) or "—"

    @admin.display(description=_("End reason"), ordering="end_reason")
    def reason(self, stream: Stream) -> str:
        if not stream.end_reason:
            return "—"
        return (
            EndReason(stream.end_reason).label if stream.end_reason in EndReason.values else stream.end_reason
        )

    @admin.display(description=_("Quality"))
    def quality(self, stream: Stream) -> str:
        parts = [stream.resolution, f"{stream.bitrate_kbps} kbps" if stream.bitrate_kbps else ""]
        return " · ".join(part for part in parts if part) or "—"

    @admin.action(description=_("End selected live streams"), permissions=["change"])
    def end_live_streams(self, request, queryset):
        ended = 0
        for stream in queryset.filter(status=Stream.Status.LIVE):
            stream_end(stream=stream, reason="staff")
            self.record_staff_action(request, "stream_end", stream)
            ended += 1
        self.message_user(
            request,
            ngettext("%(count)d live stream ended.", "%(count)d live streams ended.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )


@admin.register(RoomRecord)
class RoomRecordAdmin(IngestWrittenAdmin):
    list_display = (
        "room",
        "started_at",
        "ended_at",
        "unique_viewers",
        "peak_viewers",
        "total_comments",
        "average_watch",
    )
    list_filter = ("started_at",)
    date_hierarchy = "started_at"
    search_fields = ("room__title", "room__owner__username")
    list_select_related = ("room", "stream__room")

    @admin.display(description=_("Average watch"), ordering="avg_watch_seconds")
    def average_watch(self, record: RoomRecord) -> str:
        return duration(record.avg_watch_seconds) or "—"


@admin.register(ViewerSample)
class ViewerSampleAdmin(IngestWrittenAdmin):
    list_display = ("stream", "at", "viewers")
    list_filter = ("at",)
    search_fields = ("stream__room__title",)
    list_select_related = ("stream__room",)


class StreamsRoomAdmin(RoomAdmin):
    """The rooms' admin with the streams' own action (streams sits above rooms, so it extends it here)."""

    actions = [*RoomAdmin.actions, "end_live_stream"]

    @admin.action(description=_("End live stream"), permissions=["change"])
    def end_live_stream(self, request, queryset):
        ended = 0
        for stream in Stream.objects.filter(room__in=queryset, status=Stream.Status.LIVE):
            stream_end(stream=stream, reason="staff")
            self.record_staff_action(request, "stream_end", stream.room, stream_id=stream.pk)
            ended += 1
        self.message_user(
            request,
            ngettext("%(count)d live stream ended.", "%(count)d live streams ended.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )


admin.site.unregister(Room)
admin.site.register(Room, StreamsRoomAdmin)
