import uuid

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import username_check

AVATAR_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
AVATAR_MAX_SIDE = 4096


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_username(self) -> str | None:
        username = super().clean_username()
        if username is None:  # already refused as taken
            return None
        try:
            username_check(username=username)
        except ValidationError as error:
            raise ValidationError(error.message_dict["username"]) from error
        return username

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
        # The database compares e-mails case-insensitively; say so here rather than as a constraint error.
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("A user with that e-mail address already exists."), code="email_taken")
        return email


def image_sides_check(image, max_side: int = AVATAR_MAX_SIDE) -> None:
    """Refuse an uploaded image (avatar, room cover, emote) wider or taller than ``max_side``: a small file
    can hold a huge canvas (12000×12000 in 17 KB of PNG) that every thumbnail or browser would decode in full."""
    width, height = image.size
    if width > max_side or height > max_side:
        raise ValidationError(
            AvatarField.default_error_messages["dimensions"],
            code="dimensions",
            params={"width": width, "height": height, "side": max_side},
        )


class AvatarField(forms.ImageField):
    """An image Pillow can really read, in a web format, within the size and pixel limits. Emotes use it
    with their own formats and limits (``formats``: Pillow format -> stored extension)."""

    default_error_messages = {
        "too_big": _("The image is %(size)s; the limit is %(limit)s."),
        "format": _("Use a JPEG, PNG, WebP or GIF image."),
        "dimensions": _("The image is %(width)s×%(height)s pixels; the limit is %(side)s×%(side)s."),
    }

    def __init__(
        self,
        *,
        formats: dict[str, str] = AVATAR_FORMATS,
        max_bytes: int | None = None,
        max_side: int = AVATAR_MAX_SIDE,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.formats, self.max_bytes, self.max_side = formats, max_bytes, max_side

    def to_python(self, data):
        # Refuse by byte size before Pillow parses anything.
        size = getattr(data, "size", None) or 0
        max_bytes = self.max_bytes or settings.AVATAR_MAX_BYTES
        if size > max_bytes:
            raise ValidationError(
                self.error_messages["too_big"],
                code="too_big",
                params={"size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
            )
        upload = super().to_python(data)
        if upload is None:
            return None
        image = upload.image
        if image.format not in self.formats:
            raise ValidationError(self.error_messages["format"], code="format")
        image_sides_check(image, self.max_side)
        # The stored name comes from the real format, never from what the uploader called the file.
        upload.name = f"{uuid.uuid4().hex}.{self.formats[image.format]}"
        return upload


class ProfileForm(forms.ModelForm):
    avatar = AvatarField(
        label=_("Avatar"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )

    class Meta:
        model = User
        fields = ("display_name", "bio", "avatar", "language")
        widgets = {"bio": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["avatar"].help_text = _(
            "JPEG, PNG, WebP or GIF, up to %(limit)s and %(side)s×%(side)s pixels."
        ) % {"limit": filesizeformat(settings.AVATAR_MAX_BYTES), "side": AVATAR_MAX_SIDE}
        self.fields["language"].choices = [("", _("Same as my browser")), *settings.LANGUAGES]


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label=_("New e-mail address"), max_length=User._meta.get_field("email").max_length
    )
