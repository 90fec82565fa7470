from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.activity import activity_record
from accounts.models import ActivityLog, Plan, SiteSettings, StreamerApplication, User
from accounts.plans import plan_limits_apply, user_plan_set
from accounts.services import SITE_SETTINGS_PK, streamer_application_decide
from streamlite.encoders import LADDER_VIDEO_ENCODER, ladder_encoder_available

admin.site.site_header = _("StreamLite staff")
admin.site.site_title = _("StreamLite staff")
admin.site.index_title = _("Moderation and site administration")


def admin_target(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


class StaffAuditMixin:
    """Every add, change, delete and action a staff member makes also lands in the security activity log.

    Django's own LogEntry keeps the admin history; the activity log is where staff read security events
    (with the IP address), so staff actions belong there too. Only field names are stored, never values.
    """

    def record_staff_action(self, request: HttpRequest, what: str, obj: models.Model, **detail) -> None:
        activity_record(
            action=ActivityLog.Action.STAFF_ACTION,
            user=request.user,
            request=request,
            what=what,
            target=admin_target(obj),
            **detail,
        )

    def log_addition(self, request, obj, message):
        self.record_staff_action(request, "add", obj, changes=message if isinstance(message, list) else [])
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self.record_staff_action(request, "change", obj, changes=message if isinstance(message, list) else [])
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        activity_record(
            action=ActivityLog.Action.STAFF_ACTION,
            user=request.user,
            request=request,
            what="delete",
            # The delete view passes a list, the delete action a queryset: both hold this admin's model.
            target=self.model._meta.label_lower,
            ids=[obj.pk for obj in queryset],
        )
        return super().log_deletions(request, queryset)


class StaffModelAdmin(StaffAuditMixin, admin.ModelAdmin):
    pass


@admin.register(User)
class UserAdmin(StaffAuditMixin, DjangoUserAdmin):
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Profile"), {"fields": ("display_name", "avatar", "bio")}),
        (_("Streaming"), {"fields": ("room_quota", "plan", "plan_expires_at", "live_quota")}),
    )
    # The plan sets it (accounts.plans).
    readonly_fields = ("live_quota",)
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = (
        "username",
        "email",
        "display_name",
        "plan",
        "is_staff",
        "is_active",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "plan", "date_joined")
    search_fields = ("username", "email", "display_name")

    def save_model(self, request, obj, form, change):
        if change and {"plan", "plan_expires_at"} & set(form.changed_data):
            # Before the save, so the activity entry names the plan the user had.
            user_plan_set(user=obj, plan=obj.plan, expires_at=obj.plan_expires_at, by=request.user)
        super().save_model(request, obj, form, change)


@admin.register(Plan)
class PlanAdmin(StaffModelAdmin):
    list_display = (
        "name", "live_streams", "destinations_per_room", "playout_hours_per_month", "quality_ladder",
        "vod_retention_days", "is_default",
    )  # fmt: skip

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        plan_limits_apply(plan=obj)


@admin.register(SiteSettings)
class SiteSettingsAdmin(StaffModelAdmin):
    list_display = (
        "__str__",
        "streamers_need_approval",
        "email_verification_required",
        "playouts_need_approval",
        "ladder_max_streams",
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SiteSettings.objects.exists()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "GET" and not ladder_encoder_available():
            messages.warning(
                request,
                _(
                    "This machine's ffmpeg has no %(encoder)s encoder: the quality ladder is off and every "
                    "stream plays at its source quality only. Install Debian's ffmpeg to turn it on."
                )
                % {"encoder": LADDER_VIDEO_ENCODER},
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The services read the row by this key (accounts.services.site_settings_get).
        if not change:
            obj.pk = SITE_SETTINGS_PK
        super().save_model(request, obj, form, change)


class ApplicationDecisionForm(ActionForm):
    note = forms.CharField(
        label=_("Staff note"),
        required=False,
        help_text=_("Empty: keep each application's own staff note."),
    )


@admin.register(StreamerApplication)
class StreamerApplicationAdmin(StaffModelAdmin):
    list_display = ("user", "status", "created_at", "decided_by", "decided_at", "staff_note")
    list_filter = ("status", "created_at")
    search_fields = ("user__username", "user__email", "message", "staff_note")
    list_select_related = ("user", "decided_by")
    readonly_fields = ("user", "message", "status", "decided_by", "decided_at", "created_at")
    fields = readonly_fields + ("staff_note",)
    action_form = ApplicationDecisionForm
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        # Applications are what users submit; staff only decide them.
        return False

    @admin.action(description=_("Approve selected applications"), permissions=["change"])
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Reject selected applications"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)

    def _decide(self, request, queryset, *, approve: bool) -> None:
        note = request.POST.get("note", "").strip()
        decided = 0
        for application in queryset.filter(status=StreamerApplication.Status.PENDING):
            try:
                streamer_application_decide(
                    application=application,
                    approve=approve,
                    by=request.user,
                    note=note or application.staff_note,
                )
            except ValidationError as error:
                # Another staff member decided it between the list and the click.
                self.message_user(request, f"{application}: {error.messages[0]}", messages.WARNING)
                continue
            what = "streamer_application_approve" if approve else "streamer_application_reject"
            self.record_staff_action(request, what, application)
            decided += 1
        self.message_user(
            request,
            ngettext("%(count)d application decided.", "%(count)d applications decided.", decided)
            % {"count": decided},
            messages.SUCCESS,
        )


@admin.register(ActivityLog)
class ActivityLogAdmin(admin.ModelAdmin):
    """The log is evidence: staff read it, nobody edits or deletes it here."""

    list_display = ("created_at", "action", "user", "ip_address", "detail")
    list_filter = ("action", "created_at")
    date_hierarchy = "created_at"
    # detail__username: failed logins carry the attempted name, often of no existing user.
    search_fields = ("user__username", "^ip_address", "detail__username")
    list_select_related = ("user",)
    readonly_fields = ("created_at", "action", "user", "ip_address", "detail")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
