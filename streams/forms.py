from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import StreamerApplication
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
        fields = ["title", "description", "category", "cover"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

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
        return cover


class StreamerApplicationForm(forms.Form):
    message = forms.CharField(
        label=_("Why do you want to stream?"),
        required=False,
        max_length=StreamerApplication._meta.get_field("message").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
