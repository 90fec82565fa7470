from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.forms import AvatarField
from chat.models import EMOTE_NAME_PATTERN

EMOTE_FORMATS = {"PNG": "png", "GIF": "gif", "WEBP": "webp"}


def emote_image_field() -> AvatarField:
    """The avatar's checks (really an image, byte and pixel limits, stored under a fresh name) with the
    emote's formats and limits."""
    return AvatarField(
        label=_("Image"),
        formats=EMOTE_FORMATS,
        max_bytes=settings.EMOTE_MAX_BYTES,
        max_side=settings.EMOTE_MAX_SIDE,
        error_messages={"format": _("Use a PNG, GIF or WebP image.")},
        help_text=_("PNG, GIF or WebP, up to %(limit)s and %(side)s×%(side)s pixels.")
        % {"limit": filesizeformat(settings.EMOTE_MAX_BYTES), "side": settings.EMOTE_MAX_SIDE},
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/gif,image/webp"}),
    )


class EmoteForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=32,
        validators=[
            RegexValidator(
                f"^{EMOTE_NAME_PATTERN}$",
                _("2 to 32 letters (a-z, A-Z), digits or underscores."),
                code="emote_name",
            )
        ],
        help_text=_("Viewers type it as :name: in chat."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, so the limits are the settings of now.
        self.fields["image"] = emote_image_field()
