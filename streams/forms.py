from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import image_sides_check
from accounts.models import StreamerApplication, User
from rooms.models import Category, Room

COVER_MAX_BYTES = 5 * 1024 * 1024
# What browsers show everywhere; Pillow reads more formats (TIFF, BMP...) that pages should not serve.
COVER_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class RoomCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=Room._meta.get_field("title").max_length)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=Room._meta.get_field("description").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False)


class RoomEditForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["title", "description", "category", "cover", "clips_allowed", "ladder_enabled"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        # The model's foreign key has no translated name of its own.
        labels = {"category": _("Category")}

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        # An unchanged cover is the stored file; only a new upload carries the image Pillow opened.
        image = getattr(cover, "image", None)
        if image is None:
            return cover
        if cover.size > COVER_MAX_BYTES:
            raise forms.ValidationError(_("The cover may be at most 5 MB."), code="cover_too_big")
        if image.format not in COVER_FORMATS:
            raise forms.ValidationError(
                _("The cover must be a JPEG, PNG, WebP or GIF image."), code="cover_format"
            )
        image_sides_check(image)
        return cover


class StreamerApplicationForm(forms.Form):
    message = forms.CharField(
        label=_("Why do you want to stream?"),
        required=False,
        max_length=StreamerApplication._meta.get_field("message").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


SLOW_MODE_MAX_S = 3600
COOLDOWN_MAX_MS = 60_000
DASHBOARD_BLOCKED_WORDS_MAX = 200
BLOCKED_WORD_MAX_CHARS = 50
LEVEL_GATE_MAX = 100


class ChatSettingsForm(forms.Form):
    allow_comments = forms.BooleanField(label=_("Allow comments"), required=False)
    slow_mode_seconds = forms.IntegerField(
        label=_("Slow mode (seconds)"),
        min_value=0,
        max_value=SLOW_MODE_MAX_S,
        help_text=_("How long each viewer waits between messages; 0 turns slow mode off."),
    )
    comment_cooldown_ms = forms.IntegerField(
        label=_("Per-user cooldown (ms)"),
        min_value=0,
        max_value=COOLDOWN_MAX_MS,
        help_text=_("The shortest gap between two messages of one viewer, in milliseconds."),
    )
    blocked_words = forms.CharField(
        label=_("Blocked words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One word or phrase per line; messages containing one are refused."),
    )

    danmaku_style_min_level = forms.IntegerField(
        label=_("Level for coloured and top/bottom danmaku"),
        required=False,
        min_value=0,
        max_value=LEVEL_GATE_MAX,
        help_text=_("Viewers below this level send white scrolling danmaku only; 0: anyone."),
    )
    slow_mode_min_level = forms.IntegerField(
        label=_("Level to chat in slow mode"),
        required=False,
        min_value=0,
        max_value=LEVEL_GATE_MAX,
        help_text=_("While slow mode is on, viewers below this level cannot chat; 0: anyone."),
    )

    @classmethod
    def for_room(cls, room: Room) -> "ChatSettingsForm":
        return cls(
            initial={
                "allow_comments": room.allow_comments,
                "slow_mode_seconds": room.slow_mode_seconds,
                "comment_cooldown_ms": room.comment_cooldown_ms,
                "blocked_words": room.blocked_words,
                "danmaku_style_min_level": room.danmaku_style_min_level,
                "slow_mode_min_level": room.slow_mode_min_level,
            }
        )

    def clean_blocked_words(self) -> list[str]:
        words = [line.strip() for line in self.cleaned_data["blocked_words"].splitlines() if line.strip()]
        if len(words) > DASHBOARD_BLOCKED_WORDS_MAX:
            raise forms.ValidationError(
                _("At most %(count)d blocked words."),
                code="too_many",
                params={"count": DASHBOARD_BLOCKED_WORDS_MAX},
            )
        too_long = [word for word in words if len(word) > BLOCKED_WORD_MAX_CHARS]
        if too_long:
            raise forms.ValidationError(
                _("A blocked word may be at most %(max)d characters: %(word)s"),
                code="word_too_long",
                params={"max": BLOCKED_WORD_MAX_CHARS, "word": too_long[0]},
            )
        return words


class ModeratorAddForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=User._meta.get_field("username").max_length)

    def clean_username(self) -> User:
        # Usernames are unique ignoring case (accounts.services), so a differently cased name still finds one.
        user = User.objects.filter(username__iexact=self.cleaned_data["username"]).first()
        if user is None:
            raise forms.ValidationError(_("There is no user with that username."), code="unknown_user")
        return user
