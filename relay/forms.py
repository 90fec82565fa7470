from django import forms
from django.utils.translation import gettext_lazy as _

from relay import services
from relay.models import Destination
from vod.models import Vod

# Where each platform takes RTMP today; "custom" is any rtmp(s) server the streamer types in.
PRESET_URLS = {
    "youtube": "rtmp://a.rtmp.youtube.com/live2",
    "twitch": "rtmp://live.twitch.tv/app",
    "kick": "rtmps://fa723fc1b171.global-contribute.live-video.net:443/app",
    "facebook": "rtmps://live-api-s.facebook.com:443/rtmp",
}
PRESET_CHOICES = [
    ("youtube", "YouTube"),
    ("twitch", "Twitch"),
    ("kick", "Kick"),
    ("facebook", "Facebook"),
    ("custom", _("Other (custom URL)")),
]


class DestinationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=Destination._meta.get_field("name").max_length)
    preset = forms.ChoiceField(label=_("Platform"), choices=PRESET_CHOICES)
    url = forms.CharField(
        label=_("Server URL"),
        required=False,
        max_length=Destination._meta.get_field("url").max_length,
        help_text=_("Only for a custom platform: its rtmp:// or rtmps:// server URL, without the key."),
    )
    key = forms.CharField(
        label=_("Stream key"),
        max_length=services.KEY_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Kept encrypted and never shown again."),
    )

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset")
        if preset in PRESET_URLS:
            cleaned["url"] = PRESET_URLS[preset]
        elif preset == "custom" and not cleaned.get("url"):
            self.add_error("url", _("Enter the server URL of the platform."))
        return cleaned


class PlayoutForm(forms.Form):
    vod = forms.ModelChoiceField(label=_("One of your videos"), queryset=Vod.objects.none(), required=False)
    upload = forms.FileField(
        label=_("Or upload a video"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    starts_at = forms.DateTimeField(
        label=_("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The site's time (UTC)."),
    )
    loop = forms.BooleanField(label=_("Loop until cancelled"), required=False)

    def __init__(self, *args, room, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vod"].queryset = Vod.objects.filter(room=room, status=Vod.Status.READY).order_by(
            "-created_at"
        )

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("vod")) == bool(cleaned.get("upload")):
            raise forms.ValidationError(_("Choose one of your videos or upload a file (one of the two)."))
        return cleaned
