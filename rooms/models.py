import hashlib
import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from streamlite.models import TimeStampedModel

# The live ladder's master playlist sits next to the source's, as <public_name>_abr.m3u8.
MASTER_PLAYLIST_SUFFIX = "_abr"


def new_public_name() -> str:
    return secrets.token_hex(10)


def new_stream_secret() -> str:
    # 32 random bytes: far more than the 128 bits the design asks for.
    return "sk_" + secrets.token_urlsafe(32)


def stream_secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tag(TimeStampedModel):
    """A word that groups categories across the menu (seed 001's category tags): "fps", "co-op"."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(TimeStampedModel):
    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(_("description"), blank=True)
    cover = models.ImageField(_("cover"), upload_to="categories/", blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The name in the site's other languages, by language code ({"vi": "Trò chơi"}); ``name`` is the default.
    names = models.JSONField(_("names in other languages"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="categories", verbose_name=_("tags"))

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.shown_name

    @property
    def shown_name(self) -> str:
        """The name in the active language, when staff gave one, else the default name."""
        return self.names.get(get_language() or "") or self.name


class Room(TimeStampedModel):
    class Status(models.TextChoices):
        IDLE = "idle", _("Offline")
        LIVE = "live", _("Live")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rooms")
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    cover = models.ImageField(_("cover"), upload_to="covers/", blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.IDLE, db_index=True)
    # Set with the status by streams, so room lists need no join to show a live room's uptime.
    live_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When it last went live (kept after the stream ends): lists put rooms that stream before empty ones.
    last_live_at = models.DateTimeField(null=True, blank=True, editable=False)
    public_name = models.CharField(max_length=40, unique=True, default=new_public_name, editable=False)
    viewer_count = models.PositiveIntegerField(default=0)
    allow_comments = models.BooleanField(_("allow comments"), default=True)
    comment_cooldown_ms = models.PositiveIntegerField(
        _("comment cooldown (ms)"), default=1000, validators=[MinValueValidator(0)]
    )
    slow_mode_seconds = models.PositiveIntegerField(_("slow mode (seconds)"), default=0)
    moderators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="moderated_rooms")
    blocked_words = models.TextField(
        _("blocked words"),
        blank=True,
        help_text=_("One word or phrase per line; chat messages containing one are refused."),
    )
    clips_allowed = models.BooleanField(_("allow clips"), default=True)
    ladder_enabled = models.BooleanField(
        _("quality ladder"),
        default=True,
        help_text=_("Also make lower qualities of your stream, so viewers on slow connections can watch."),
    )
    # Set by streams while the live ladder's master playlist is served: players load it instead of the source.
    ladder_live = models.BooleanField(default=False, editable=False)
    # A recent frame of the live stream, written by streams every PREVIEW_INTERVAL_S; shown only while live.
    preview = models.ImageField(upload_to="previews/", blank=True, editable=False)
    # Level gates (0: anyone); the owner, moderators and staff are exempt.
    danmaku_style_min_level = models.PositiveSmallIntegerField(
        _("level for coloured and top/bottom danmaku"),
        default=0,
        help_text=_("Viewers below this level send white scrolling danmaku only. 0: anyone."),
    )
    slow_mode_min_level = models.PositiveSmallIntegerField(
        _("level to chat in slow mode"),
        default=0,
        help_text=_("While slow mode is on, viewers below this level cannot chat. 0: anyone."),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-viewer_count"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE

    @property
    def hls_playlist_url(self) -> str:
        """What players load: the master playlist of the quality ladder while it runs, else the source's.
        Named by the public name, never the stream key (DESIGN §2)."""
        suffix = MASTER_PLAYLIST_SUFFIX if self.ladder_live else ""
        return f"{settings.HLS_PUBLIC_URL}/{self.public_name}{suffix}.m3u8"

    @property
    def live_preview_url(self) -> str | None:
        return self.preview.url if self.is_live and self.preview else None


class StreamKey(models.Model):
    """The secret OBS publishes with. Only its owner reads it; lookups go by digest."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="stream_keys")
    secret = models.CharField(max_length=64, default=new_stream_secret, editable=False)
    secret_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room"], condition=models.Q(revoked_at__isnull=True), name="one_active_key_per_room"
            )
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Stream key of room {self.room_id} ({state})"

    def __repr__(self) -> str:
        return f"<StreamKey room={self.room_id} revoked={self.revoked_at is not None}>"

    def save(self, *args, **kwargs):
        self.secret_digest = stream_secret_digest(self.secret)
        super().save(*args, **kwargs)


class Follow(models.Model):
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following")
    followed = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers")
    notify = models.BooleanField(_("go-live alerts"), default=True)
    # E-mail is opt-in per follow: the bell is on by default, mail to someone's inbox is not.
    email_live = models.BooleanField(_("e-mail when live"), default=False)
    email_vod = models.BooleanField(_("e-mail about new videos"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followed"], name="unique_follow_pair"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followed")), name="no_self_follow"),
        ]
        indexes = [models.Index(fields=["followed", "notify"])]

    def __str__(self) -> str:
        return f"{self.follower} → {self.followed}"
