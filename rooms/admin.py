from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffModelAdmin
from rooms.models import Category, Follow, Room, StreamKey, Tag
from rooms.services import stream_key_reset

# What staff see in place of any stream key: it tells a key is there, never which one.
MASKED_STREAM_KEY = "sk_••••••••"


class MaskedStreamKeyMixin:
    """Shows stream keys without their secret: staff need to know a key exists and when it changed."""

    @admin.display(description=_("stream key"))
    def masked_secret(self, key: StreamKey) -> str:
        return MASKED_STREAM_KEY

    @admin.display(description=_("active"), boolean=True)
    def is_active(self, key: StreamKey) -> bool:
        return key.revoked_at is None


def other_languages() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def _name_in(language: str) -> str:
    return _("Name in %(language)s") % {"language": language}


class CategoryForm(forms.ModelForm):
    """One field per other site language instead of the raw ``names`` JSON."""

    class Meta:
        model = Category
        fields = ["name", "slug", "description", "cover", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, _language in other_languages():
            self.initial.setdefault(f"name_{code}", self.instance.names.get(code, ""))

    def save(self, commit=True):
        self.instance.names = {
            code: self.cleaned_data[f"name_{code}"].strip()
            for code, _language in other_languages()
            if self.cleaned_data.get(f"name_{code}", "").strip()
        }
        return super().save(commit)


# Declared on the class (the admin builds its form class from the declared fields), one per language.
for _code, _language in other_languages():
    CategoryForm.declared_fields[f"name_{_code}"] = CategoryForm.base_fields[f"name_{_code}"] = (
        forms.CharField(
            label=lazy(_name_in, str)(_language),
            max_length=Category._meta.get_field("name").max_length,
            required=False,
            help_text=_("Empty: the name above is shown."),
        )
    )


@admin.register(Tag)
class TagAdmin(StaffModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Category)
class CategoryAdmin(StaffModelAdmin):
    form = CategoryForm
    list_display = ("name", "slug", "position", "created_at")
    list_editable = ("position",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("tags",)


class StreamKeyInline(MaskedStreamKeyMixin, admin.TabularInline):
    model = StreamKey
    fields = ("masked_secret", "is_active", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        # New keys only come from "Reset stream key", which revokes the old one in the same step.
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Room)
class RoomAdmin(StaffModelAdmin):
    list_display = ("title", "owner", "status", "category", "viewer_count", "created_at")
    list_filter = ("status", "category", "allow_comments", "created_at")
    search_fields = ("title", "owner__username")
    list_select_related = ("owner", "category")
    autocomplete_fields = ("owner", "category", "moderators")
    # Status and viewers follow the ingest and the viewers; editing them by hand would lie.
    readonly_fields = ("status", "viewer_count", "public_name", "created_at", "updated_at")
    inlines = [StreamKeyInline]
    actions = ["reset_stream_key"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # A room streams with a key; with nothing to revoke yet, the reset service issues the first.
            stream_key_reset(room=obj, by=request.user)

    @admin.action(description=_("Reset stream key"), permissions=["change"])
    def reset_stream_key(self, request, queryset):
        rooms = list(queryset)
        for room in rooms:
            stream_key_reset(room=room, by=request.user)
            self.record_staff_action(request, "stream_key_reset", room)
        self.message_user(
            request,
            ngettext(
                "Stream key reset for %(count)d room; its owner must update OBS.",
                "Stream keys reset for %(count)d rooms; their owners must update OBS.",
                len(rooms),
            )
            % {"count": len(rooms)},
            messages.SUCCESS,
        )


@admin.register(StreamKey)
class StreamKeyAdmin(MaskedStreamKeyMixin, StaffModelAdmin):
    """Read-only: staff see that keys exist and when they changed; the secret never reaches this page."""

    list_display = ("room", "masked_secret", "is_active", "created_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("room__title", "room__owner__username")
    list_select_related = ("room",)
    fields = ("room", "masked_secret", "is_active", "created_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Follow)
class FollowAdmin(StaffModelAdmin):
    list_display = ("follower", "followed", "notify", "created_at")
    list_filter = ("notify", "created_at")
    search_fields = ("follower__username", "followed__username")
    list_select_related = ("follower", "followed")
    autocomplete_fields = ("follower", "followed")
