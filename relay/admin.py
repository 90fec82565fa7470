from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffModelAdmin
from relay import services
from relay.models import Destination, Playout


@admin.register(Destination)
class DestinationAdmin(StaffModelAdmin):
    list_display = ["name", "room", "enabled", "state", "error", "node", "heartbeat_at"]
    list_filter = ["state", "enabled"]
    search_fields = ["name", "room__title", "room__owner__username"]
    raw_id_fields = ["room"]
    # The key is encrypted and never shown; the rest is the supervisor's to write.
    readonly_fields = [
        "state",
        "error",
        "bitrate_kbps",
        "live_since",
        "node",
        "pid",
        "heartbeat_at",
        "failures",
    ]
    exclude = ["retry_at"]


class PlayoutDecisionForm(ActionForm):
    note = forms.CharField(label=_("Staff note"), required=False)


@admin.register(Playout)
class PlayoutAdmin(StaffModelAdmin):
    """Seed 003's stream requests: where the site asks for approval, staff approve or reject here."""

    list_display = ["title", "room", "starts_at", "loop", "state", "decided_by", "staff_note"]
    list_filter = ["state", "starts_at"]
    search_fields = ["title", "room__title", "room__owner__username"]
    list_select_related = ["room", "decided_by"]
    readonly_fields = [
        "room", "vod", "upload", "title", "starts_at", "loop", "state", "error", "decided_by", "decided_at",
        "node", "pid", "heartbeat_at", "started_at", "ended_at",
    ]  # fmt: skip
    fields = [*readonly_fields, "staff_note"]
    action_form = PlayoutDecisionForm
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Approve selected playouts"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject selected playouts"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)

    def _decide(self, request, queryset, *, approve: bool) -> None:
        note = request.POST.get("note", "").strip()
        decided = sum(
            services.playout_decide(playout=playout, by=request.user, approve=approve, note=note)
            for playout in queryset.filter(state=Playout.State.PENDING).select_related("room__owner")
        )
        self.message_user(
            request,
            ngettext("%(count)d playout decided.", "%(count)d playouts decided.", decided)
            % {"count": decided},
            messages.SUCCESS,
        )
