from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from rooms.models import Room
from webhooks.models import Endpoint, Event


class EndpointForm(forms.Form):
    url = forms.URLField(label=_("Receiver URL"), max_length=Endpoint._meta.get_field("url").max_length)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )
    room = forms.ModelChoiceField(
        label=_("Room"),
        queryset=Room.objects.none(),
        required=False,
        empty_label=_("All my rooms"),
    )
    site_wide = forms.BooleanField(label=_("Every room of the site (staff)"), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = Room.objects.filter(owner=user).order_by("pk")
        if not user.is_staff:
            del self.fields["site_wide"]
