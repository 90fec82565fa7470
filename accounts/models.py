import re
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from streamlite.models import TimeStampedModel


class Plan(models.Model):
    """What a user may do (seed 003's packages): staff give users a plan, with an optional expiry; without
    one, or once it expired, the default plan applies."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    live_streams = models.PositiveSmallIntegerField(_("concurrent live streams"), default=1)
    destinations_per_room = models.PositiveSmallIntegerField(_("restream destinations per room"), default=1)
    playout_hours_per_month = models.PositiveSmallIntegerField(_("playout hours per month"), default=0)
    quality_ladder = models.BooleanField(_("quality ladder allowed"), default=True)
    vod_retention_days = models.PositiveIntegerField(
        _("VOD retention (days)"), null=True, blank=True, help_text=_("Empty: VODs are kept.")
    )
    is_default = models.BooleanField(_("default plan"), default=False)

    class Meta:
        ordering = ["live_streams", "destinations_per_room", "name"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_plan"
            )
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    username = models.CharField(
        _("username"),
        max_length=50,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Up to 50 characters: letters, digits and @/./+/-/_ only."),
        error_messages={"unique": _("A user with that username already exists.")},
    )
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    bio = models.TextField(_("bio"), max_length=1000, blank=True)
    room_quota = models.PositiveSmallIntegerField(_("room quota"), default=1)
    # Kept equal to the plan's live_streams (accounts.plans), so going live reads it without a join.
    live_quota = models.PositiveSmallIntegerField(_("concurrent live streams quota"), default=1)
    # Grows with watch time and chat activity; computed by chat's beat task (docs/chat.md, "Levels").
    level = models.PositiveSmallIntegerField(_("level"), default=1, editable=False)
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="users", verbose_name=_("plan")
    )
    plan_expires_at = models.DateTimeField(
        _("plan expires at"), null=True, blank=True, help_text=_("Empty: the plan does not expire.")
    )
    # Blank: the site follows the browser (Accept-Language) until the user picks a language.
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The language of the site for you. Empty: your browser's language."),
    )

    # Proved by opening a mailed link; the site may require it before it mails alerts (SiteSettings).
    email_verified = models.BooleanField(_("e-mail address confirmed"), default=False)

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def avatar_url(self) -> str:
        return self.avatar.url if self.avatar else ""


# name, height, video kbps, audio kbps: the renditions made below a source (streams.ladder reads them).
DEFAULT_LADDER_TEXT = "1080p 1080 4500 128\n720p 720 2500 128\n480p 480 1000 96\n360p 360 600 64"
LADDER_LINE = re.compile(
    r"^(?P<name>[0-9A-Za-z]{1,10}) +(?P<height>\d{2,4}) +(?P<video>\d{2,5}) +(?P<audio>\d{2,3})$"
)


def ladder_parse(text: str) -> list[tuple[str, int, int, int]]:
    """The rungs staff wrote, one ``name height video_kbps audio_kbps`` a line; ValueError on a bad line."""
    rungs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = LADDER_LINE.match(line.strip())
        if match is None:
            raise ValueError(number)
        rungs.append((match["name"], int(match["height"]), int(match["video"]), int(match["audio"])))
    return rungs


def ladder_validate(text: str) -> None:
    try:
        rungs = ladder_parse(text)
    except ValueError as error:
        raise ValidationError(
            _("Line %(line)s is not “name height video-kbps audio-kbps”, such as “720p 720 2500 128”."),
            code="ladder_line",
            params={"line": error.args[0]},
        ) from None
    heights = [height for _name, height, _video, _audio in rungs]
    if len(set(heights)) != len(heights) or len({name for name, *_ in rungs}) != len(rungs):
        raise ValidationError(_("Each rung needs a name and a height of its own."), code="ladder_duplicate")


class SiteSettings(models.Model):
    """The one row of settings staff change at run time."""

    # Readers keep the row in the shared cache for a few seconds (accounts.services.site_settings_cached).
    CACHE_KEY = "site_settings"

    streamers_need_approval = models.BooleanField(
        _("new streamers need approval"),
        default=False,
        help_text=_("When on, users apply to stream and wait for staff."),
    )
    embed_allowed_origins = models.TextField(
        _("sites allowed to embed the player"),
        blank=True,
        help_text=_(
            "One origin per line, such as https://blog.example.org, may show the embed pages in a frame; "
            "empty: every site. Other pages never show in a frame."
        ),
    )
    email_verification_required = models.BooleanField(
        _("e-mail addresses must be confirmed"),
        default=False,
        help_text=_(
            "When on, new accounts get a link by e-mail and get no e-mail alerts until they open it; "
            "they can log in meanwhile."
        ),
    )
    playouts_need_approval = models.BooleanField(
        _("scheduled playouts need approval"),
        default=False,
        help_text=_("When on, a streamer's scheduled video broadcast waits for staff to approve it."),
    )

    ladder = models.TextField(
        _("quality ladder"),
        default=DEFAULT_LADDER_TEXT,
        validators=[ladder_validate],
        help_text=_(
            "One rung per line: name, height in lines, video and audio bitrate in kbps. Rungs at or above "
            "a stream's own height are skipped; the source is always the top rung."
        ),
    )
    ladder_max_streams = models.PositiveSmallIntegerField(
        _("live streams transcoded at once"),
        default=1,
        help_text=_(
            "Each transcoded stream keeps about one CPU core busy (docs/operations.md); streams beyond "
            "this number play at their source quality only. 0 turns the live ladder off."
        ),
    )

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self) -> str:
        return str(_("Site settings"))

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Once committed, so the next reader caches the row as it now is, in every web process.
        transaction.on_commit(partial(cache.delete, self.CACHE_KEY), robust=True)


class StreamerApplication(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="streamer_applications")
    message = models.TextField(_("why you want to stream"), max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    staff_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status="pending"), name="one_pending_application_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


class ActivityLog(models.Model):
    """Security-relevant events, kept for staff (seed 003's user_activities)."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKOUT = "lockout", _("Locked out")
        SIGNUP_LIMITED = "signup_limited", _("Sign-up refused: too many")
        LOGOUT = "logout", _("Logout")
        SIGNUP = "signup", _("Sign-up")
        STREAM_KEY_RESET = "stream_key_reset", _("Stream key reset")
        GO_LIVE = "go_live", _("Went live")
        STREAM_END = "stream_end", _("Stream ended")
        MODERATION = "moderation", _("Moderation")
        STAFF_ACTION = "staff_action", _("Staff action")
        RESTREAM_START = "restream_start", _("Restream started")
        RESTREAM_STOP = "restream_stop", _("Restream stopped")
        RESTREAM_FAIL = "restream_fail", _("Restream failed")
        PLAYOUT = "playout", _("Scheduled playout")
        PLAN_CHANGE = "plan_change", _("Plan changed")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.user or '-'}"
