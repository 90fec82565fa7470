from django import forms
from django.utils.translation import gettext_lazy as _

from vod.models import Vod


class VodEditForm(forms.ModelForm):
    """What the streamer changes on the VOD's page: its title, description and category."""

    class Meta:
        model = Vod
        fields = ["title", "description", "category"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {"title": _("Title"), "description": _("Description"), "category": _("Category")}
