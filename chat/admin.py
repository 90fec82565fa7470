from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from pymongo.errors import PyMongoError

from accounts.admin import StaffModelAdmin, UserAdmin
from accounts.models import User
from chat.forms import emote_image_field
from chat.models import ChatBan, Emote, EmoteUse, LevelProgress, PinnedMessage
from chat.selectors import messages_search
from chat.services import chat_ban_create, chat_message_delete, emotes_changed
from rooms.models import Room

CHAT_LOG_PAGE_SIZE = 50
_app_list_of_models = admin.site.get_app_list


def _app_list_with_chat_log(request, app_label=None):
    """The admin's app list (index and sidebar) with the chat log as one more row of the Chat section:
    the log is no model, so Django would not list it, and a section of its own would be a second Chat."""
    apps = _app_list_of_models(request, app_label)
    for app in apps:
        if app["app_label"] == "chat" and request.user.has_perm("chat.view_chatban"):
            app["models"].append(
                {
                    "name": gettext("Chat log"),
                    "object_name": "ChatLog",
                    "admin_url": reverse("admin:chat_log"),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                }
            )
    return apps


admin.site.get_app_list = _app_list_with_chat_log


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

    def get_urls(self):
        log = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.chat_log))
        return [path("chat-log/", log, name="chat_log"), *super().get_urls()]

    def chat_log(self, request):
        return chat_log_view(request, self)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New bans go through the service, like bans moderators give in chat.
        ban = chat_ban_create(
            user=obj.user, room=obj.room, by=request.user, reason=obj.reason, expires_at=obj.expires_at
        )
        obj.pk, obj.created_by, obj.created_at = ban.pk, ban.created_by, ban.created_at


class ChatLogSearchForm(forms.Form):
    room = forms.IntegerField(label=_("room id"), required=False, min_value=1, max_value=2**31 - 1)
    username = forms.CharField(label=_("username"), required=False, max_length=150)
    text = forms.CharField(label=_("text contains"), required=False, max_length=200)
    since = forms.DateTimeField(
        label=_("from"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label=_("until"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput)


class ChatLogDeleteForm(forms.Form):
    room = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    message_id = forms.IntegerField(min_value=1, max_value=2**53)


def chat_log_view(request, model_admin):
    """Staff's chat log: archived messages (deleted ones marked), searched by room, user, text and time."""
    if request.method == "POST":
        return _chat_log_delete(request)
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = ChatLogSearchForm(request.GET or None)
    found, total, page, unavailable = [], 0, 1, False
    # An invalid form shows its errors and searches nothing rather than with half-understood filters.
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        page = filters.get("page") or 1
        try:
            found, total = messages_search(
                room_id=filters.get("room"),
                username=filters.get("username", ""),
                text=filters.get("text", ""),
                since=filters.get("since"),
                until=filters.get("until"),
                offset=(page - 1) * CHAT_LOG_PAGE_SIZE,
                limit=CHAT_LOG_PAGE_SIZE,
            )
        except PyMongoError:
            unavailable = True
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Chat log"),
        "form": form,
        "found": [{**doc, "id": doc["_id"]} for doc in found],
        "total": total,
        "page": page,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page * CHAT_LOG_PAGE_SIZE < total else None,
        "query": query.urlencode(),
        "unavailable": unavailable,
    }
    return TemplateResponse(request, "admin/chat/chat_log.html", context)


def _chat_log_delete(request):
    # Anyone on staff may delete: chat_message_delete allows staff in every room (and checks it again).
    form = ChatLogDeleteForm(request.POST)
    back = request.POST.get("next", "")
    if not back.startswith("?"):
        back = ""
    if not form.is_valid():
        messages.error(request, gettext("This message cannot be deleted."))
    else:
        room = Room.objects.filter(pk=form.cleaned_data["room"]).first()
        try:
            if room is None:
                raise ValidationError(gettext("The room no longer exists."))
            chat_message_delete(room=room, message_id=form.cleaned_data["message_id"], by=request.user)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, gettext("The message is deleted for everyone."))
    return HttpResponseRedirect(reverse("admin:chat_log") + back)


class EmoteAdminForm(forms.ModelForm):
    class Meta:
        model = Emote
        fields = ("name", "room", "image")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"] = emote_image_field()
        self.fields["room"].help_text = _("Empty: a site emote, usable in every room.")

    def clean(self):
        cleaned = super().clean()
        name, room = cleaned.get("name"), cleaned.get("room")
        if name and Emote.objects.filter(room=room, name__iexact=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", _("An emote with this name already exists here."))
        return cleaned


@admin.register(Emote)
class EmoteAdmin(StaffModelAdmin):
    """Staff upload the site's emotes here (and may remove any room's)."""

    form = EmoteAdminForm
    list_display = ("name", "room", "created_at")
    list_filter = (("room", admin.EmptyFieldListFilter),)
    search_fields = ("name",)
    raw_id_fields = ("room",)

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)
        room_id = obj.room_id
        transaction.on_commit(lambda: emotes_changed(room_id=room_id))

    def delete_model(self, request, obj):
        room_id = obj.room_id
        super().delete_model(request, obj)
        transaction.on_commit(lambda: emotes_changed(room_id=room_id))


class ReadOnlyAdmin(StaffModelAdmin):
    """Rows the site keeps itself (chat.services, chat.levels): staff read them, never edit them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PinnedMessage)
class PinnedMessageAdmin(ReadOnlyAdmin):
    list_display = ("room", "message_id", "pinned_by", "created_at")
    raw_id_fields = ("room", "pinned_by")


@admin.register(EmoteUse)
class EmoteUseAdmin(ReadOnlyAdmin):
    list_display = ("emote", "room", "count")
    list_select_related = ("emote", "room")


@admin.register(LevelProgress)
class LevelProgressAdmin(ReadOnlyAdmin):
    list_display = ("user", "watch_minutes", "chat_minutes", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)


class ChatUserAdmin(UserAdmin):
    """The users' admin with chat's own action (chat sits above accounts, so it extends it here)."""

    actions = [*UserAdmin.actions, "ban_from_chat_sitewide"]

    @admin.action(description=_("Ban from chat sitewide"), permissions=["change"])
    def ban_from_chat_sitewide(self, request, queryset):
        banned = 0
        for user in queryset:
            if user.pk == request.user.pk:
                self.message_user(request, _("You cannot ban yourself."), messages.WARNING)
                continue
            ban = chat_ban_create(user=user, by=request.user, reason=str(_("Banned by staff")))
            self.record_staff_action(request, "chat_ban_sitewide", user, ban_id=ban.pk)
            banned += 1
        self.message_user(
            request,
            ngettext("%(count)d user banned from chat.", "%(count)d users banned from chat.", banned)
            % {"count": banned},
            messages.SUCCESS,
        )


admin.site.unregister(User)
admin.site.register(User, ChatUserAdmin)
