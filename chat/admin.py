from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin import StaffModelAdmin
from chat.models import ChatBan
from chat.services import chat_ban_create


class BanScopeFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("sitewide", _("Sitewide")), ("room", _("One room"))]

    def queryset(self, request, queryset):
        if self.value() == "sitewide":
            return queryset.filter(room__isnull=True)
        if self.value() == "room":
            return queryset.filter(room__isnull=False)
        return queryset


class BanActiveFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("Expired"))]

    def queryset(self, request, queryset):
        in_force = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


@admin.register(ChatBan)
class ChatBanAdmin(StaffModelAdmin):
    list_display = ("user", "scope", "reason", "expires_at", "created_by", "created_at")
    list_filter = (BanScopeFilter, BanActiveFilter, "created_at")
    search_fields = ("user__username", "room__title", "reason")
    list_select_related = ("user", "room", "created_by")
    autocomplete_fields = ("user", "room")
    fields = ("user", "room", "reason", "expires_at", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")

    @admin.display(description=_("room"), ordering="room__title")
    def scope(self, ban: ChatBan):
        return ban.room or _("sitewide")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.base_fields["room"].help_text = _("Empty: banned from chat on the whole site.")
        return form

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New bans go through the service, like bans moderators give in chat.
        ban = chat_ban_create(
            user=obj.user, room=obj.room, by=request.user, reason=obj.reason, expires_at=obj.expires_at
        )
        obj.pk, obj.created_by, obj.created_at = ban.pk, ban.created_by, ban.created_at
