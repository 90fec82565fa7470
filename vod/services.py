"""VOD writes: processing a stream's recording into a published HLS VOD, and the owner's changes.

Publishing protocol (DESIGN §2.5): all files are made in a local temporary folder, uploaded through
Django's default storage under a fresh random prefix ``vods/<vod_id>/<random>/`` that nothing points to
(the playlist last), and only then the Vod row is switched to that prefix in one transaction. A crash at
any point leaves either the old state or the new one visible, never a half-done VOD; prefixes of
abandoned runs are removed by the next run that publishes.

The quality ladder: the VOD is published (and playable) from its source rung first; each lower rung is
then a VodRendition transcoded by a task of its own, one after the other, and published the same way
under ``<source prefix><rung>-<random>/``. A rung that fails stays failed on its own row.
"""

import logging
import os
import secrets
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.activity import activity_record
from accounts.models import ActivityLog, Plan, User
from accounts.plans import plan_default, user_plan
from streamlite.events import send_on_commit
from streams import ladder
from streams.models import Stream
from streams.services import recording_path_allowed
from vod import media
from vod.models import Vod, VodRendition
from vod.signals import vod_ready

logger = logging.getLogger(__name__)

# ffmpeg's share of the progress bar; the upload takes the rest up to 99, publishing makes it 100.
ENCODE_SHARE = 90
PROGRESS_STEP = 5
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


class VodStorageError(Exception):
    """The object store failed (unreachable, refused): worth retrying later."""


def vod_prefix(vod_id: int) -> str:
    return f"vods/{vod_id}/"


def _title_for(stream: Stream) -> str:
    title = _("%(title)s (%(date)s)") % {
        "title": stream.room.title,
        "date": timezone.localtime(stream.started_at).strftime("%Y-%m-%d %H:%M"),
    }
    return title[: Vod._meta.get_field("title").max_length]


def vod_for_stream(*, stream: Stream) -> Vod:
    """The stream's one VOD (OneToOne on stream: a second call or a racing worker gets the same row)."""
    room = stream.room
    vod, _created = Vod.objects.get_or_create(
        stream=stream,
        defaults={
            "room_id": room.pk,
            "title": _title_for(stream),
            "description": room.description,
            "category_id": room.category_id,
        },
    )
    return vod


def recording_of(stream: Stream) -> Path:
    """The recording file named by the stream record, refused unless it lies inside RECORDINGS_ROOT."""
    if not stream.recording_path:
        raise media.MediaError(_("This stream has no recording."))
    if not recording_path_allowed(path=stream.recording_path):
        logger.warning("stream %s names a recording outside RECORDINGS_ROOT; refused", stream.pk)
        raise media.MediaError(_("The recording lies outside the recordings folder and was refused."))
    path = Path(os.path.realpath(stream.recording_path))
    if not path.is_file():
        raise media.MediaError(_("The recording file is missing."))
    if path.stat().st_size == 0:
        raise media.MediaError(_("The recording file is empty."))
    return path


def vod_process(*, stream: Stream) -> Vod:
    """Turn the stream's recording into its published VOD. Idempotent: a processed VOD is left alone.

    Bad input marks the VOD failed with the reason; storage trouble raises VodStorageError (retry).
    """
    vod = vod_for_stream(stream=stream)
    if vod.playlist_path:
        _stale_prefixes_delete(vod_id=vod.pk, keep=_prefix_of(vod.playlist_path))
        # A run that died between publishing and queueing the ladder: queue it now (queueing is idempotent).
        _rung_enqueue_next(vod_id=vod.pk)
        return vod
    Vod.objects.filter(pk=vod.pk).exclude(status=Vod.Status.HIDDEN).update(
        status=Vod.Status.PROCESSING, progress=0, failure_reason="", updated_at=timezone.now()
    )
    _stale_work_folders_delete(vod_id=vod.pk)
    try:
        source = recording_of(stream)
        probe = media.probe(source)
        with tempfile.TemporaryDirectory(prefix=_work_folder_prefix(vod.pk)) as folder:
            work = Path(folder)
            reporter = _ProgressReporter(Vod.objects.filter(pk=vod.pk, playlist_path=""))
            playlist = media.hls_write(source, work, probe, lambda done: reporter(done * ENCODE_SHARE))
            bandwidth = media.peak_bandwidth(work, playlist)
            thumbnail = media.thumbnail_write(source, work, probe)
            prefix = f"{vod_prefix(vod.pk)}{secrets.token_hex(8)}/"
            size = _upload(work, prefix, playlist=playlist, thumbnail=thumbnail, reporter=reporter)
    except media.MediaError as error:
        return vod_fail(vod=vod, reason=str(error))
    published = _publish(
        vod_id=vod.pk,
        playlist_path=f"{prefix}{playlist.name}",
        thumbnail_path=f"{prefix}{thumbnail.name}" if thumbnail else "",
        duration_s=max(1, round(probe.duration_s)),
        size_bytes=size,
        width=probe.width or None,
        height=probe.height or None,
        bandwidth=bandwidth,
    )
    if published is None or published.playlist_path != f"{prefix}{playlist.name}":
        # Deleted meanwhile, or another run published first: ours is the leftover.
        _prefix_delete(prefix)
        return published or vod
    _stale_prefixes_delete(vod_id=vod.pk, keep=prefix)
    return published


def _work_folder_prefix(vod_id: int) -> str:
    return f"vod-{vod_id}-"


def _stale_work_folders_delete(*, vod_id: int) -> None:
    # A killed worker cannot clean its local folder (a full copy of the video): the next run does.
    for folder in Path(tempfile.gettempdir()).glob(f"{_work_folder_prefix(vod_id)}*"):
        shutil.rmtree(folder, ignore_errors=True)


class _ProgressReporter:
    """Saves the progress every few percent: often enough for a moving bar, rarely enough for the DB."""

    def __init__(self, rows: QuerySet):
        self.rows = rows  # the row being made, while it is not published
        self.saved = 0

    def __call__(self, percent: float) -> None:
        value = min(99, int(percent))
        if value >= self.saved + PROGRESS_STEP:
            self.saved = value
            self.rows.update(progress=value)


def _upload(folder: Path, prefix: str, *, playlist: Path, thumbnail: Path | None, reporter) -> int:
    """Upload the segments, the thumbnail, then the playlist (last, so a listed playlist is complete)."""
    segments = sorted(folder.glob("seg_*.ts"))
    files = [*segments, *([thumbnail] if thumbnail else []), playlist]
    size = 0
    try:
        for number, path in enumerate(files, start=1):
            name = f"{prefix}{path.name}"
            with path.open("rb") as content:
                stored = default_storage.save(name, File(content, name=path.name))
            if stored != name:
                raise VodStorageError(f"storage renamed {name} to {stored}")
            size += path.stat().st_size
            reporter(ENCODE_SHARE + (99 - ENCODE_SHARE) * number / len(files))
    except STORAGE_ERRORS as error:
        _prefix_delete(prefix, quiet=True)
        raise VodStorageError(str(error)) from error
    return size


@transaction.atomic
def _publish(
    *,
    vod_id: int,
    playlist_path: str,
    thumbnail_path: str,
    duration_s: int,
    size_bytes: int,
    width: int | None,
    height: int | None,
    bandwidth: int,
) -> Vod | None:
    vod = Vod.objects.select_for_update().filter(pk=vod_id).first()
    if vod is None or vod.playlist_path:
        return vod
    vod.playlist_path = playlist_path
    vod.thumbnail.name = thumbnail_path
    vod.duration_s = duration_s
    vod.size_bytes = size_bytes
    vod.width, vod.height, vod.bandwidth = width, height, bandwidth
    _ladder_create(vod=vod)
    vod.progress = 100
    vod.failure_reason = ""
    # A VOD its owner or staff hid while it was processing stays hidden; it is processed all the same.
    if vod.status != Vod.Status.HIDDEN:
        vod.status = Vod.Status.READY
        send_on_commit(vod_ready, sender=Vod, vod_id=vod.pk)
    vod.save()
    return vod


def vod_fail(*, vod: Vod, reason: str) -> Vod:
    """Record why processing failed; a VOD that a run did publish is never turned into a failure."""
    Vod.objects.filter(pk=vod.pk, playlist_path="").exclude(status=Vod.Status.HIDDEN).update(
        status=Vod.Status.FAILED, updated_at=timezone.now()
    )
    Vod.objects.filter(pk=vod.pk, playlist_path="").update(failure_reason=reason)
    vod.refresh_from_db()
    return vod


def vod_fail_for_stream(*, stream_id: int, reason: str) -> None:
    """The task's last word after its retries ran out or its time limit struck."""
    vod = Vod.objects.filter(stream_id=stream_id).first()
    if vod is not None:
        vod_fail(vod=vod, reason=reason)


# ---- the quality ladder below the source rung ----


def _ladder_create(*, vod: Vod) -> None:
    """The VOD's rungs below its source, waiting; their transcoding is queued once this commits."""
    if not vod.height:
        return
    # The gates of the live ladder hold for VODs too: the room's switch and the owner's plan.
    room = vod.room
    if not room.ladder_enabled or not user_plan(user=room.owner).quality_ladder:
        return
    for rung in ladder.ladder_rungs(source_height=vod.height):
        VodRendition.objects.get_or_create(
            vod=vod,
            name=rung.name,
            defaults={"height": rung.height, "video_kbps": rung.video_kbps, "audio_kbps": rung.audio_kbps},
        )
    _rung_enqueue_next(vod_id=vod.pk)


def _rung_enqueue_next(*, vod_id: int) -> None:
    transaction.on_commit(lambda: _rung_enqueue_next_now(vod_id=vod_id))


def _rung_enqueue_next_now(*, vod_id: int) -> None:
    # The lowest rung first: the quickest to make, and what a viewer on a slow connection is waiting for.
    # One rung at a time, so a VOD's ladder never takes more than one core from live streams.
    rendition = (
        VodRendition.objects.filter(
            vod_id=vod_id, status__in=[VodRendition.Status.PENDING, VodRendition.Status.PROCESSING]
        )
        .order_by("height")
        .first()
    )
    if rendition is not None:
        from vod.tasks import vod_rung_process as vod_rung_process_task  # tasks import this module

        vod_rung_process_task.delay(rendition_id=rendition.pk)


def _rung_work_folder_prefix(rendition: VodRendition) -> str:
    return f"vodrung-{rendition.pk}-"


def _rung_source_playlist(vod: Vod) -> str:
    try:
        with default_storage.open(vod.playlist_path, "rb") as playlist:
            return playlist.read().decode()
    except FileNotFoundError as missing:
        raise media.MediaError(_("The VOD's video is missing.")) from missing
    except STORAGE_ERRORS as error:
        raise VodStorageError(str(error)) from error


def vod_rung_process(*, rendition_id: int) -> VodRendition | None:
    """Transcode one rung of a ready VOD from its recording, publish it, and queue the next rung.
    Idempotent: a published rung is left alone. Bad input fails the rung only; the VOD plays on."""
    rendition = VodRendition.objects.select_related("vod", "vod__stream").filter(pk=rendition_id).first()
    if rendition is None:
        return None
    vod = rendition.vod
    if not vod.playlist_path:  # rungs are made only with the source's publication: never here
        return rendition
    if rendition.status in (VodRendition.Status.READY, VodRendition.Status.FAILED):
        _rung_enqueue_next(vod_id=vod.pk)
        return rendition
    VodRendition.objects.filter(pk=rendition.pk).update(
        status=VodRendition.Status.PROCESSING, progress=0, updated_at=timezone.now()
    )
    for folder in Path(tempfile.gettempdir()).glob(f"{_rung_work_folder_prefix(rendition)}*"):
        shutil.rmtree(folder, ignore_errors=True)
    rung = ladder.Rung(rendition.name, rendition.height, rendition.video_kbps, rendition.audio_kbps)
    try:
        if vod.stream is None:
            raise media.MediaError(_("The stream of this VOD is gone."))
        source = recording_of(vod.stream)
        probe = media.probe(source)
        boundaries = media.segment_boundaries(_rung_source_playlist(vod))
        with tempfile.TemporaryDirectory(prefix=_rung_work_folder_prefix(rendition)) as folder:
            work = Path(folder)
            reporter = _ProgressReporter(VodRendition.objects.filter(pk=rendition.pk, playlist_path=""))
            playlist = media.rung_write(
                source, work, probe, rung, boundaries, lambda done: reporter(done * 99)
            )
            bandwidth = media.peak_bandwidth(work, playlist)
            prefix = f"{_prefix_of(vod.playlist_path)}{_rung_folder(rung.name)}{secrets.token_hex(8)}/"
            size = _upload(work, prefix, playlist=playlist, thumbnail=None, reporter=lambda _percent: None)
    except media.MediaError as error:
        logger.warning("vod %s rung %s failed: %s", vod.pk, rung.name, error)
        vod_rung_fail(rendition_id=rendition.pk, reason=str(error))
        _rung_enqueue_next(vod_id=vod.pk)
        return VodRendition.objects.filter(pk=rendition.pk).first()
    width = round(probe.width * rung.height / probe.height / 2) * 2 if probe.height else None
    published = _rung_publish(
        rendition_id=rendition.pk,
        playlist_path=f"{prefix}{playlist.name}",
        width=width,
        bandwidth=bandwidth,
        size_bytes=size,
    )
    if published is None or published.playlist_path != f"{prefix}{playlist.name}":
        _prefix_delete(prefix, quiet=True)
    else:
        _stale_rung_prefixes_delete(vod=vod, name=rung.name, keep=prefix)
    _rung_enqueue_next(vod_id=vod.pk)
    return published


def _rung_folder(name: str) -> str:
    """The start of a rung's folder name under the source's prefix; its runs differ by a random tail."""
    return f"{name}-"


@transaction.atomic
def _rung_publish(
    *, rendition_id: int, playlist_path: str, width: int | None, bandwidth: int, size_bytes: int
) -> VodRendition | None:
    rendition = VodRendition.objects.select_for_update().filter(pk=rendition_id).first()
    if rendition is None or rendition.playlist_path:
        return rendition
    rendition.playlist_path = playlist_path
    rendition.width = width
    rendition.bandwidth = bandwidth
    rendition.size_bytes = size_bytes
    rendition.status = VodRendition.Status.READY
    rendition.progress = 100
    rendition.failure_reason = ""
    rendition.save()
    Vod.objects.filter(pk=rendition.vod_id).update(size_bytes=F("size_bytes") + size_bytes)
    return rendition


def _stale_rung_prefixes_delete(*, vod: Vod, name: str, keep: str) -> None:
    """Remove what abandoned runs of this rung left beside the published one."""
    root = _prefix_of(vod.playlist_path)
    try:
        directories, _files = default_storage.listdir(root)
    except (FileNotFoundError, *STORAGE_ERRORS) as error:
        logger.warning("could not list %s: %s", root, error)
        return
    for directory in directories:
        if directory.startswith(_rung_folder(name)) and f"{root}{directory}/" != keep:
            _prefix_delete(f"{root}{directory}/", quiet=True)


def vod_rung_fail(*, rendition_id: int, reason: str) -> None:
    """Record why a rung failed; a published rung is never turned into a failure."""
    VodRendition.objects.filter(pk=rendition_id, playlist_path="").update(
        status=VodRendition.Status.FAILED, failure_reason=reason, updated_at=timezone.now()
    )


def vod_rung_fail_and_go_on(*, rendition_id: int, reason: str) -> None:
    """The rung task's last word (retries ran out, time limit): the rung fails, the next one is queued."""
    vod_rung_fail(rendition_id=rendition_id, reason=reason)
    vod_id = VodRendition.objects.filter(pk=rendition_id).values_list("vod_id", flat=True).first()
    if vod_id is not None:
        _rung_enqueue_next(vod_id=vod_id)


def _prefix_of(path: str) -> str:
    return path.rsplit("/", 1)[0] + "/"


def _prefix_delete(prefix: str, *, quiet: bool = False) -> None:
    try:
        directories, files = default_storage.listdir(prefix)
        for name in files:
            default_storage.delete(f"{prefix}{name}")
        for directory in directories:
            _prefix_delete(f"{prefix}{directory}/")
    except FileNotFoundError:
        return
    except STORAGE_ERRORS as error:
        if not quiet:
            raise VodStorageError(str(error)) from error
        logger.warning("could not remove %s: %s", prefix, error)


def _stale_prefixes_delete(*, vod_id: int, keep: str) -> None:
    """Remove what abandoned runs (a killed worker, a lost race) left under the VOD's folder."""
    root = vod_prefix(vod_id)
    try:
        directories, _files = default_storage.listdir(root)
    except FileNotFoundError:
        return
    except STORAGE_ERRORS as error:
        logger.warning("could not list %s: %s", root, error)
        return
    for directory in directories:
        if f"{root}{directory}/" != keep:
            _prefix_delete(f"{root}{directory}/", quiet=True)


@transaction.atomic
def vod_hide(*, vod: Vod, by: User | None) -> Vod:
    """Take a VOD out of every listing and player; hiding a hidden VOD changes nothing."""
    changed = (
        Vod.objects.filter(pk=vod.pk)
        .exclude(status=Vod.Status.HIDDEN)
        .update(status=Vod.Status.HIDDEN, updated_at=timezone.now())
    )
    vod.status = Vod.Status.HIDDEN
    if changed:
        activity_record(action=ActivityLog.Action.MODERATION, user=by, what="vod_hide", vod_id=vod.pk)
    return vod


@transaction.atomic
def vod_publish(*, vod: Vod) -> Vod:
    """Show a hidden VOD again; only a processed one can be shown."""
    vod = Vod.objects.select_for_update().get(pk=vod.pk)
    if vod.status == Vod.Status.READY:
        return vod
    if vod.status != Vod.Status.HIDDEN or not vod.playlist_path:
        raise ValidationError(_("Only a processed VOD can be published."), code="not_ready")
    vod.status = Vod.Status.READY
    vod.save(update_fields=["status", "updated_at"])
    return vod


@transaction.atomic
def vod_update(*, vod: Vod, changes: dict[str, Any]) -> Vod:
    """The owner's edits: ``title``, ``description``, ``category``, and ``status`` ready/hidden (publish/hide)."""
    fields = [name for name in ("title", "description", "category") if name in changes]
    if fields:
        for name in fields:
            setattr(vod, name, changes[name])
        vod.save(update_fields=[*fields, "updated_at"])
    status = changes.get("status")
    if status == Vod.Status.HIDDEN:
        vod = vod_hide(vod=vod, by=vod.room.owner)
    elif status == Vod.Status.READY:
        vod = vod_publish(vod=vod)
    return vod


@transaction.atomic
def vod_retry(*, vod: Vod) -> Vod:
    """Process a failed VOD again (its stream's recording must still be known), or a ready VOD's failed
    rungs."""
    vod = Vod.objects.select_for_update().get(pk=vod.pk)
    failed_rungs = vod.renditions.filter(status=VodRendition.Status.FAILED)
    if vod.playlist_path and failed_rungs.exists():
        # The VOD plays; only the rungs that failed are made again.
        failed_rungs.update(status=VodRendition.Status.PENDING, progress=0, failure_reason="")
        _rung_enqueue_next(vod_id=vod.pk)
        return vod
    if vod.status != Vod.Status.FAILED:
        raise ValidationError(_("Only a failed VOD can be retried."), code="not_failed")
    if vod.stream_id is None:
        raise ValidationError(
            _("The stream of this VOD is gone; it cannot be processed again."), code="no_stream"
        )
    vod.status = Vod.Status.PROCESSING
    vod.progress = 0
    vod.failure_reason = ""
    vod.save(update_fields=["status", "progress", "failure_reason", "updated_at"])
    stream_id = vod.stream_id
    transaction.on_commit(lambda: _process_enqueue(stream_id))
    return vod


def _process_enqueue(stream_id: int) -> None:
    from vod.tasks import vod_process as vod_process_task  # tasks import this module

    vod_process_task.delay(stream_id=stream_id)


@transaction.atomic
def vod_delete(*, vod: Vod) -> None:
    """Delete the VOD and, once that is committed, every object it stored."""
    vod_id = vod.pk
    vod.delete()
    transaction.on_commit(lambda: _prefix_delete(vod_prefix(vod_id), quiet=True))


def vods_past_retention(*, now=None):
    """VODs older than their owner's plan keeps them: the plan while it lasts, else the default plan; a
    plan without a retention keeps every VOD. VODs still processing are never expired."""
    now = now or timezone.now()
    owner = "room__owner__"
    on_plan = Q(**{f"{owner}plan__isnull": False}) & (
        Q(**{f"{owner}plan_expires_at__isnull": True}) | Q(**{f"{owner}plan_expires_at__gt": now})
    )
    expired = Q(pk__in=[])
    for plan in Plan.objects.exclude(vod_retention_days=None):
        cutoff = now - timedelta(days=plan.vod_retention_days)
        expired |= on_plan & Q(**{f"{owner}plan": plan}, created_at__lt=cutoff)
    fallback = plan_default()
    if fallback.vod_retention_days is not None:
        cutoff = now - timedelta(days=fallback.vod_retention_days)
        expired |= ~on_plan & Q(created_at__lt=cutoff)
    return Vod.objects.filter(expired).exclude(status=Vod.Status.PROCESSING)


def vods_retention_apply(*, now=None, batch: int = 100) -> int:
    """Delete a batch of VODs past their retention (with their stored files); the beat job repeats."""
    deleted = 0
    for vod in vods_past_retention(now=now)[:batch]:
        logger.info("vod %s deleted: past its owner's plan retention", vod.pk)
        vod_delete(vod=vod)
        deleted += 1
    return deleted


def vod_view_count(*, vod: Vod, viewer: str) -> bool:
    """Count a view unless this viewer was counted for this VOD within the window; True if counted."""
    # cache.add is Redis SET NX EX: one winner per viewer and window, across every web process.
    if not cache.add(f"vod:{vod.pk}:viewer:{viewer}", 1, timeout=settings.VOD_VIEW_WINDOW_S):
        return False
    Vod.objects.filter(pk=vod.pk).update(view_count=F("view_count") + 1)
    return True
