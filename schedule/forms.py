from django import forms
from django.utils.translation import gettext_lazy as _

from rooms.models import Category, Room
from schedule.models import ScheduledStream


class ScheduledStreamForm(forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.none(), label=_("Room"))
    title = forms.CharField(max_length=ScheduledStream._meta.get_field("title").max_length, label=_("Title"))
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, label=_("Category"))
    starts_at = forms.DateTimeField(
        label=_("Starts at (UTC)"),
        # local_time.js shows and reads it in the browser's time zone and sends UTC.
        widget=forms.DateTimeInput(
            attrs={
                "type": "datetime-local",
                "data-local-datetime": "",
                "data-local-label": _("Starts at (your time)"),
            },
            format="%Y-%m-%dT%H:%M",
        ),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Room.objects.filter(owner=owner).order_by("created_at")
        self.fields["room"].empty_label = None  # most streamers have one room: it is chosen already
