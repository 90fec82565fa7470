"""Clip writes: a viewer's clip of a live room or of a VOD range, cutting it, and its maker's changes.

A clip is cut by the worker from fragments that already exist (the ingest's live HLS fragments under
HLS_ROOT, or a VOD's stored segments) with ``-c copy``, uploaded under a fresh prefix
``clips/<id>/<random>/`` (the playlist last) and only then marked ready, as VODs are published.
"""

import logging
import secrets
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from chat.services import moderation_allowed
from clips import media
from clips.models import Clip
from clips.signals import clip_ready
from rooms.models import Room
from streamlite.events import send_on_commit
from streams.hls import Fragment, fragments_last, live_fragments
from streams.models import Stream
from vod.media import MediaError
from vod.models import Vod
from vod.selectors import vod_playable

logger = logging.getLogger(__name__)

STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)
# A fragment closed this long after the viewer pressed Clip still belongs to what they saw.
LIVE_CLICK_SLACK_S = 1.0


class ClipRateLimited(Exception):
    """The user made CLIP_RATE_PER_HOUR clips within the hour."""


class ClipStorageError(Exception):
    """The object store failed: worth retrying later."""


def clip_prefix(clip_id: int) -> str:
    return f"clips/{clip_id}/"


def _rate_count(*, user: User) -> None:
    key = f"clips:rate:{user.pk}"
    # add() starts the hour's window once; incr() counts atomically in Redis across processes.
    cache.add(key, 0, timeout=60 * 60)
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between the two calls
        cache.set(key, 1, timeout=60 * 60)
        count = 1
    if count > settings.CLIP_RATE_PER_HOUR:
        raise ClipRateLimited


def _clips_allowed_check(room: Room) -> None:
    if not room.clips_allowed:
        raise ValidationError(_("The streamer has turned clips off in this room."), code="clips_off")


def _length_check(seconds: float, *, field: str) -> None:
    if not settings.CLIP_MIN_S <= seconds <= settings.CLIP_MAX_S:
        raise ValidationError(
            {
                field: ValidationError(
                    _("A clip lasts between %(min)d and %(max)d seconds.")
                    % {"min": settings.CLIP_MIN_S, "max": settings.CLIP_MAX_S},
                    code="clip_length",
                )
            }
        )


def _title_for(room: Room) -> str:
    title = _("Clip of %(title)s") % {"title": room.title}
    return title[: Clip._meta.get_field("title").max_length]


def _enqueue(clip_id: int) -> None:
    from clips.tasks import clip_process  # the tasks module imports this one

    clip_process.delay(clip_id=clip_id)


@transaction.atomic
def clip_create_live(*, room: Room, user: User, seconds: int) -> Clip:
    """The last ``seconds`` of the room's live stream, as the viewer pressed Clip."""
    _length_check(seconds, field="seconds")
    _clips_allowed_check(room)
    stream = Stream.objects.filter(room=room, status=Stream.Status.LIVE).first()
    if stream is None:
        raise ValidationError(_("This room is not live: clip one of its VODs instead."), code="not_live")
    _rate_count(user=user)
    clip = Clip.objects.create(
        room=room,
        stream=stream,
        created_by=user,
        title=_title_for(room),
        source=Clip.Source.LIVE,
        requested_s=seconds,
    )
    transaction.on_commit(lambda: _enqueue(clip.pk))
    return clip


@transaction.atomic
def clip_create_from_vod(*, vod: Vod, user: User, start_s: float, end_s: float) -> Clip:
    """The part of a VOD between ``start_s`` and ``end_s`` (seconds into the VOD)."""
    if end_s <= start_s:
        raise ValidationError({"end_s": ValidationError(_("Must be after start_s."), code="invalid")})
    _length_check(end_s - start_s, field="end_s")
    if not vod_playable(vod=vod, user=user):
        raise ValidationError(_("This VOD cannot be played, so it cannot be clipped."), code="not_ready")
    if vod.duration_s is not None and end_s > vod.duration_s + 1:
        raise ValidationError({"end_s": ValidationError(_("The VOD ends before that."), code="invalid")})
    _clips_allowed_check(vod.room)
    _rate_count(user=user)
    clip = Clip.objects.create(
        room=vod.room,
        stream_id=vod.stream_id,
        vod=vod,
        created_by=user,
        title=_title_for(vod.room),
        source=Clip.Source.VOD,
        # The VOD's time 0 is its stream's start, the origin of the danmaku's vpos_ms.
        start_ms=round(start_s * 1000),
        requested_s=round(end_s - start_s),
    )
    transaction.on_commit(lambda: _enqueue(clip.pk))
    return clip


def _live_source(clip: Clip) -> tuple[list[Path], float, int]:
    """The live fragments the viewer saw before pressing Clip: (paths, offset, start_ms)."""
    if clip.stream is None:
        raise MediaError(_("The stream of this clip is gone."))
    pressed = clip.created_at.timestamp() + LIVE_CLICK_SLACK_S
    closed_at = {}
    for fragment in live_fragments(public_name=clip.room.public_name):
        try:
            closed_at[fragment] = fragment.path.stat().st_mtime
        except OSError:  # removed by the ingest since its playlist was read
            continue
    fragments = [fragment for fragment, mtime in closed_at.items() if mtime <= pressed]
    chosen: list[Fragment] = fragments_last(fragments, seconds=clip.requested_s)
    if not chosen:
        raise MediaError(_("The live video of that moment is no longer available."))
    # A fragment's file closes when its last frame arrives: the clip's first frame came that much earlier.
    begun = closed_at[chosen[-1]] - sum(fragment.duration_s for fragment in chosen)
    start_ms = max(0, round((begun - clip.stream.started_at.timestamp()) * 1000))
    # From the first chosen fragment's keyframe for ``requested_s``: the clip ends at most one fragment
    # before the press, and no frame has to be re-encoded.
    return [fragment.path for fragment in chosen], 0.0, start_ms


def _vod_source(clip: Clip, folder: Path) -> tuple[list[Path], float]:
    """The VOD's stored segments that cover the clip, copied into ``folder``: (paths, offset into them)."""
    vod = clip.vod
    if vod is None or not vod.playlist_path:
        raise MediaError(_("The VOD of this clip is gone."))
    prefix = vod.playlist_path.rsplit("/", 1)[0] + "/"
    start_s, end_s = clip.start_ms / 1000, clip.start_ms / 1000 + clip.requested_s
    try:
        with default_storage.open(vod.playlist_path, "rb") as playlist:
            text = playlist.read().decode()
        paths, position, first_at, duration = [], 0.0, None, None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("#EXTINF:"):
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            elif line and not line.startswith("#") and duration is not None:
                if position < end_s and position + duration > start_s and "/" not in line:
                    first_at = position if first_at is None else first_at
                    target = folder / f"src_{len(paths):05d}.ts"
                    with default_storage.open(prefix + line, "rb") as segment:
                        target.write_bytes(segment.read())
                    paths.append(target)
                position += duration
                duration = None
    except FileNotFoundError as missing:
        raise MediaError(_("The VOD's video is missing.")) from missing
    except STORAGE_ERRORS as error:
        raise ClipStorageError(str(error)) from error
    except ValueError as error:
        raise MediaError(_("The VOD's playlist could not be read.")) from error
    return paths, max(0.0, start_s - (first_at or 0.0))


def clip_process(*, clip_id: int) -> Clip | None:
    """Cut, upload and publish the clip. Idempotent: a published clip is left alone."""
    clip = Clip.objects.select_related("room", "stream", "vod").filter(pk=clip_id).first()
    if clip is None or clip.playlist_path:
        return clip
    try:
        with tempfile.TemporaryDirectory(prefix=f"clip-{clip.pk}-") as folder:
            work = Path(folder)
            sources = work / "src"
            sources.mkdir()
            if clip.source == Clip.Source.LIVE:
                fragments, offset, start_ms = _live_source(clip)
            else:
                (fragments, offset), start_ms = _vod_source(clip, sources), clip.start_ms
            output = work / "out"
            output.mkdir()
            playlist = media.clip_write(
                fragments=fragments, folder=output, offset_s=offset, seconds=clip.requested_s
            )
            segments = sorted(output.glob("seg_*.ts"))
            thumbnail = media.thumbnail_write(segment=segments[0], folder=output)
            prefix = f"{clip_prefix(clip.pk)}{secrets.token_hex(8)}/"
            _upload(prefix, [*segments, *([thumbnail] if thumbnail else []), playlist])
            duration = round(media.duration_of(playlist), 2)
    except MediaError as error:
        return clip_fail(clip=clip, reason=str(error))
    published = _publish(
        clip_id=clip.pk,
        playlist_path=f"{prefix}{playlist.name}",
        thumbnail_path=f"{prefix}{thumbnail.name}" if thumbnail else "",
        duration_s=duration,
        start_ms=start_ms,
    )
    if published is None or published.playlist_path != f"{prefix}{playlist.name}":
        # Deleted meanwhile, or another run published first: ours is the leftover.
        _prefix_delete(prefix)
    return published


def _upload(prefix: str, files: list[Path]) -> None:
    try:
        for path in files:
            name = f"{prefix}{path.name}"
            with path.open("rb") as content:
                stored = default_storage.save(name, File(content, name=path.name))
            if stored != name:
                raise ClipStorageError(f"storage renamed {name} to {stored}")
    except STORAGE_ERRORS as error:
        _prefix_delete(prefix)
        raise ClipStorageError(str(error)) from error


@transaction.atomic
def _publish(
    *, clip_id: int, playlist_path: str, thumbnail_path: str, duration_s: float, start_ms: int
) -> Clip | None:
    clip = Clip.objects.select_for_update().filter(pk=clip_id).first()
    if clip is None or clip.playlist_path:
        return clip
    clip.playlist_path = playlist_path
    clip.thumbnail.name = thumbnail_path
    clip.duration_s = duration_s
    clip.start_ms = start_ms
    clip.status = Clip.Status.READY
    clip.failure_reason = ""
    clip.save()
    send_on_commit(clip_ready, sender=Clip, clip_id=clip.pk)
    return clip


def clip_fail(*, clip: Clip, reason: str) -> Clip:
    """Record why the clip could not be made; a published clip is never turned into a failure."""
    Clip.objects.filter(pk=clip.pk, playlist_path="").update(
        status=Clip.Status.FAILED, failure_reason=reason, updated_at=timezone.now()
    )
    clip.refresh_from_db()
    return clip


def _prefix_delete(prefix: str) -> None:
    try:
        directories, files = default_storage.listdir(prefix)
        for name in files:
            default_storage.delete(f"{prefix}{name}")
        for directory in directories:
            _prefix_delete(f"{prefix}{directory}/")
    except FileNotFoundError:
        return
    except STORAGE_ERRORS as error:
        logger.warning("could not remove %s: %s", prefix, error)


def clip_may_rename(*, clip: Clip, user: User) -> bool:
    return user.is_authenticated and clip.created_by_id == user.pk


def clip_may_delete(*, clip: Clip, user: User) -> bool:
    """The room's streamer, its moderators and staff remove clips of the room."""
    return moderation_allowed(room=clip.room, user=user)


@transaction.atomic
def clip_update(*, clip: Clip, user: User, changes: dict[str, Any]) -> Clip:
    """The maker's edits: the title."""
    if not clip_may_rename(clip=clip, user=user):
        raise PermissionDenied(_("Only the maker of a clip may rename it."))
    if "title" in changes:
        clip.title = changes["title"]
        clip.save(update_fields=["title", "updated_at"])
    return clip


@transaction.atomic
def clip_delete(*, clip: Clip, user: User | None) -> None:
    """Delete the clip and, once that is committed, every object it stored (user None: staff's admin)."""
    if user is not None and not clip_may_delete(clip=clip, user=user):
        raise PermissionDenied(_("Only the streamer, the room's moderators and staff may delete clips."))
    clip_id = clip.pk
    clip.delete()
    transaction.on_commit(lambda: _prefix_delete(clip_prefix(clip_id)))


def clip_view_count(*, clip: Clip, viewer: str) -> bool:
    """Count a view unless this viewer was counted for this clip within the window; True if counted."""
    if not cache.add(f"clip:{clip.pk}:viewer:{viewer}", 1, timeout=settings.VOD_VIEW_WINDOW_S):
        return False
    Clip.objects.filter(pk=clip.pk).update(view_count=F("view_count") + 1)
    return True
