import logging
import tempfile
from datetime import timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from accounts.plans import user_plan
from accounts.services import site_settings_cached
from notifications.services import notification_system_send
from relay import selectors
from relay.keys import key_encrypt, key_hint
from relay.models import Destination, Playout, PlayoutError, RelayError
from rooms.models import Room
from streamlite.outbound import STREAM_SCHEMES, OutboundRefused, outbound_target
from vod.media import MediaError, probe
from vod.models import Vod

logger = logging.getLogger(__name__)

KEY_MAX_LENGTH = 500


def _invalid(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def destination_url_clean(*, url: str) -> str:
    """The server URL as stored: rtmp(s) only, a host the server may reach, no key or password in it."""
    url = url.strip()
    if len(url) > Destination._meta.get_field("url").max_length:
        raise _invalid("url", _("The URL is too long."))
    try:
        outbound_target(url, schemes=STREAM_SCHEMES)
    except OutboundRefused as exc:
        raise _invalid("url", str(exc), code="url_refused") from exc
    parts = urlsplit(url)
    if not parts.path.strip("/"):
        raise _invalid("url", _("Enter the full server URL with its path, like rtmp://example.com/live."))
    if parts.query or parts.fragment:
        raise _invalid(
            "url", _("Enter the server URL without a query; the stream key goes in its own field.")
        )
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), path=parts.path.rstrip("/")))


def destination_key_clean(*, key: str) -> str:
    key = key.strip()
    if not key:
        raise _invalid("key", _("Enter the stream key the platform gave you."), code="required")
    # The relay hands the key to ffmpeg one option per line: no line breaks or other control characters.
    if len(key) > KEY_MAX_LENGTH or not key.isprintable() or any(c.isspace() for c in key):
        raise _invalid("key", _("Enter the stream key without spaces or line breaks."))
    return key


def _name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise _invalid("name", _("Give the destination a name."), code="required")
    if len(name) > Destination._meta.get_field("name").max_length:
        raise _invalid("name", _("The name is too long."))
    return name


@transaction.atomic
def destination_create(
    *, user: User, room: Room, name: str, url: str, key: str, enabled: bool = True
) -> Destination:
    if room.owner_id != user.pk:
        raise _invalid("room", _("You can only restream your own room."))
    limit = user_plan(user=user).destinations_per_room
    if Destination.objects.filter(room=room).count() >= limit:
        raise ValidationError(
            _("Your plan allows %(count)d restream destinations per room.") % {"count": limit},
            code="plan_limit",
        )
    name, url, key = _name_clean(name), destination_url_clean(url=url), destination_key_clean(key=key)
    return Destination.objects.create(
        room=room, name=name, url=url, key_encrypted=key_encrypt(key), key_hint=key_hint(key), enabled=enabled
    )


@transaction.atomic
def destination_update(
    *,
    destination: Destination,
    name: str | None = None,
    url: str | None = None,
    key: str | None = None,
    enabled: bool | None = None,
) -> Destination:
    """Change what is given; a running relay picks the change up (stops, or restarts) on its next tick."""
    changed = []
    if name is not None:
        destination.name = _name_clean(name)
        changed.append("name")
    if url is not None:
        destination.url = destination_url_clean(url=url)
        changed.append("url")
    if key is not None:
        key = destination_key_clean(key=key)
        destination.key_encrypted, destination.key_hint = key_encrypt(key), key_hint(key)
        changed += ["key_encrypted", "key_hint"]
    if enabled is not None:
        destination.enabled = enabled
        changed.append("enabled")
        if not enabled and not destination.node:
            # No relay runs to stop and report it: what it shows now is its state.
            destination.state, destination.error = Destination.State.STOPPED, ""
            changed += ["state", "error"]
    if url is not None or key is not None or enabled:
        # New settings deserve a prompt new attempt, not the backoff of the old ones.
        destination.failures, destination.retry_at = 0, None
        changed += ["failures", "retry_at"]
    if url is not None or key is not None:
        # The relay restarts with the new address or key: its supervisor sees a generation change.
        destination.error = ""
        changed.append("error")
    if changed:
        destination.save(update_fields=[*changed, "updated_at"])
    return destination


def destination_delete(*, destination: Destination) -> None:
    destination.delete()


# The worker's relay supervisor (relay.supervisor) reports through these; every write is conditional on
# the node still owning the destination, so an orphan taken over by another worker is not written back.


def _owned(*, pk: int, node: str):
    return Destination.objects.filter(pk=pk, node=node)


def destination_claim(*, pk: int, node: str) -> Destination | None:
    """Take a wanted destination no live worker relays; None when another worker got it first."""
    now = timezone.now()
    taken = (
        Destination.objects.filter(pk=pk)
        .filter(
            Q(node="")
            | Q(node=node)
            | Q(heartbeat_at__lt=selectors.orphan_before())
            | Q(heartbeat_at__isnull=True)
        )
        .update(node=node, pid=None, heartbeat_at=now, state=Destination.State.CONNECTING, bitrate_kbps=None)
    )
    if not taken:
        return None
    return Destination.objects.select_related("room__owner").get(pk=pk)


def destination_started(*, pk: int, node: str, pid: int) -> None:
    _owned(pk=pk, node=node).update(pid=pid, heartbeat_at=timezone.now())


def destination_progress(*, pk: int, node: str, sending: bool, bitrate_kbps: int | None) -> None:
    """A supervisor tick of a running relay: alive, and whether data reaches the platform."""
    now = timezone.now()
    owned = _owned(pk=pk, node=node)
    if not sending:
        owned.update(heartbeat_at=now)
        return
    went_live = owned.exclude(state=Destination.State.LIVE).update(
        state=Destination.State.LIVE, error="", failures=0, live_since=now, heartbeat_at=now,
        bitrate_kbps=bitrate_kbps,
    )  # fmt: skip
    if went_live:
        _activity(pk=pk, action=ActivityLog.Action.RESTREAM_START)
    else:
        owned.update(heartbeat_at=now, bitrate_kbps=bitrate_kbps)


def retry_delay_s(*, failures: int) -> int:
    return min(settings.RELAY_RETRY_BASE_S * 2 ** max(failures - 1, 0), settings.RELAY_RETRY_MAX_S)


@transaction.atomic
def destination_failed(*, pk: int, node: str, error: RelayError) -> None:
    """The relay's process ended on its own: show why, and try again after a growing pause."""
    destination = _owned(pk=pk, node=node).select_for_update().first()
    if destination is None:
        return
    failures = destination.failures + 1
    retry_at = timezone.now() + timedelta(seconds=retry_delay_s(failures=failures))
    _owned(pk=pk, node=node).update(
        state=Destination.State.ERROR, error=error, failures=failures, retry_at=retry_at,
        node="", pid=None, bitrate_kbps=None, live_since=None,
    )  # fmt: skip
    logger.info("restream destination %s failed (%s), retry %s in %ss", pk, error, failures, retry_at)
    _activity(pk=pk, action=ActivityLog.Action.RESTREAM_FAIL, error=error.value, failures=failures)


def destination_stopped(*, pk: int, node: str, error: RelayError | None = None) -> None:
    """The supervisor stopped the relay (room ended, destination disabled or changed, worker stopping)."""
    changes = {"node": "", "pid": None, "bitrate_kbps": None, "live_since": None}
    if error is None:
        changes.update(state=Destination.State.STOPPED, error="")
    else:
        changes.update(state=Destination.State.ERROR, error=error)
    if _owned(pk=pk, node=node).update(**changes):
        _activity(pk=pk, action=ActivityLog.Action.RESTREAM_STOP)


def destinations_orphans_clean(*, wanted: list[int]) -> int:
    """Relays whose worker vanished (killed, node lost) and that are not ``wanted`` (selectors.
    destinations_wanted) any more are marked stopped; wanted ones are taken over by the next supervisor
    tick. Returns how many were cleaned."""
    orphans = Destination.objects.exclude(node="").filter(heartbeat_at__lt=selectors.orphan_before())
    cleaned = orphans.exclude(pk__in=wanted).update(
        node="", pid=None, state=Destination.State.STOPPED, bitrate_kbps=None, live_since=None
    )
    # Idle destinations left showing a state of a stream long over (no relay ran to reset them).
    Destination.objects.filter(
        node="", state__in=[Destination.State.LIVE, Destination.State.CONNECTING]
    ).exclude(pk__in=wanted).update(state=Destination.State.STOPPED, bitrate_kbps=None, live_since=None)
    if cleaned:
        logger.warning("cleaned %s orphaned restream relays", cleaned)
    return cleaned


def _activity(*, pk: int, action: str, **detail) -> None:
    destination = Destination.objects.select_related("room__owner").filter(pk=pk).first()
    if destination is None:
        return
    activity_record(
        action=action, user=destination.room.owner, room_id=destination.room_id, destination_id=pk, **detail
    )


# Scheduled playouts: a video broadcast live in the room at a time, through the ingest like OBS.


def _playout_activity(*, playout: Playout, event: str, **detail) -> None:
    activity_record(
        action=ActivityLog.Action.PLAYOUT,
        user=playout.room.owner,
        room_id=playout.room_id,
        playout_id=playout.pk,
        event=event,
        **detail,
    )


def playout_upload_check(*, upload) -> None:
    """Refuse a file ffprobe does not read as a video, before it is scheduled."""
    with tempfile.NamedTemporaryFile(suffix=".upload") as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        try:
            probe(Path(copy.name))
        except MediaError as exc:
            raise _invalid(
                "upload", _("This file is not a video the site can read."), code="not_a_video"
            ) from exc
    upload.seek(0)


@transaction.atomic
def playout_create(
    *,
    user: User,
    room: Room,
    starts_at,
    loop: bool = False,
    vod: Vod | None = None,
    upload=None,
    title: str = "",
) -> Playout:
    if room.owner_id != user.pk:
        raise _invalid("room", _("You can only schedule a playout in your own room."))
    if (vod is None) == (upload is None):
        raise _invalid("vod", _("Choose one of your videos or upload a file (one of the two)."))
    if vod is not None and (vod.room_id != room.pk or vod.status != Vod.Status.READY):
        raise _invalid("vod", _("Choose a ready video of this room."))
    if starts_at < timezone.now() - timedelta(minutes=1):
        raise _invalid("starts_at", _("Choose a time that has not passed."))
    plan = user_plan(user=user)
    if selectors.playout_seconds_this_month(user=user) >= plan.playout_hours_per_month * 3600:
        raise ValidationError(
            _("Your plan allows %(hours)d playout hours a month, all used.")
            % {"hours": plan.playout_hours_per_month},
            code="plan_limit",
        )
    if upload is not None:
        if upload.size > settings.PLAYOUT_UPLOAD_MAX_BYTES:
            raise _invalid("upload", _("The file is too large."))
        playout_upload_check(upload=upload)
    title = (title or (vod.title if vod is not None else Path(upload.name).stem))[:100]
    needs_approval = site_settings_cached().playouts_need_approval and not user.is_staff
    playout = Playout.objects.create(
        room=room,
        vod=vod,
        upload=upload or "",
        title=title,
        starts_at=starts_at,
        loop=loop,
        state=Playout.State.PENDING if needs_approval else Playout.State.SCHEDULED,
    )
    _playout_activity(playout=playout, event="requested" if needs_approval else "scheduled")
    return playout


@transaction.atomic
def playout_decide(*, playout: Playout, by: User, approve: bool, note: str = "") -> bool:
    """Staff approve or reject a pending playout; returns False when it was no longer pending."""
    state = Playout.State.SCHEDULED if approve else Playout.State.REJECTED
    decided = Playout.objects.filter(pk=playout.pk, state=Playout.State.PENDING).update(
        state=state, staff_note=note, decided_by=by, decided_at=timezone.now()
    )
    if not decided:
        return False
    playout.refresh_from_db()
    _playout_activity(playout=playout, event="approved" if approve else "rejected", by=by.pk)
    owner = playout.room.owner
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        if approve:
            message = _("Your playout “%(title)s” was approved.") % {"title": playout.title}
        else:
            message = _("Your playout “%(title)s” was rejected.") % {"title": playout.title}
        if note:
            message = f"{message} {note}"
    transaction.on_commit(partial(notification_system_send, user_id=owner.pk, message=message), robust=True)
    return True


def playout_cancel(*, playout: Playout) -> bool:
    """Cancel a playout not over yet; a running one stops at its supervisor's next tick."""
    cancelled = Playout.objects.filter(
        pk=playout.pk,
        state__in=[
            Playout.State.PENDING,
            Playout.State.SCHEDULED,
            Playout.State.STARTING,
            Playout.State.LIVE,
        ],
    ).update(state=Playout.State.CANCELLED)
    if cancelled:
        playout.refresh_from_db()
        _playout_activity(playout=playout, event="cancelled")
    return bool(cancelled)


def playout_claim(*, pk: int, node: str) -> Playout | None:
    now = timezone.now()
    taken = Playout.objects.filter(pk=pk, state=Playout.State.SCHEDULED, starts_at__lte=now).update(
        state=Playout.State.STARTING, node=node, heartbeat_at=now
    )
    if not taken:
        return None
    playout = Playout.objects.select_related("room__owner", "vod__stream").get(pk=pk)
    _playout_activity(playout=playout, event="starting")
    return playout


def playout_progress(*, pk: int, node: str, pid: int | None, sending: bool) -> None:
    now = timezone.now()
    owned = Playout.objects.filter(pk=pk, node=node)
    if sending and owned.filter(state=Playout.State.STARTING).update(
        state=Playout.State.LIVE, started_at=now, heartbeat_at=now, pid=pid
    ):
        return
    owned.update(heartbeat_at=now, pid=pid)


def playout_finished(*, pk: int, node: str, error: PlayoutError | None = None) -> None:
    """The playout's process ended: at the end of its video, stopped, or failed with ``error``."""
    now = timezone.now()
    owned = Playout.objects.filter(pk=pk, node=node)
    changes = {"node": "", "pid": None, "ended_at": now}
    running = owned.filter(state__in=[Playout.State.STARTING, Playout.State.LIVE])
    if error:
        running.update(state=Playout.State.FAILED, error=error, **changes)
    else:
        running.update(state=Playout.State.ENDED, **changes)
    owned.update(**changes)
    playout = Playout.objects.select_related("room__owner").filter(pk=pk).first()
    if playout is not None:
        _playout_activity(playout=playout, event=playout.state, error=playout.error)


def playouts_orphans_clean() -> int:
    """Playouts whose worker vanished while starting or live end as failed (the stream ends with them)."""
    return Playout.objects.filter(
        state__in=[Playout.State.STARTING, Playout.State.LIVE], heartbeat_at__lt=selectors.orphan_before()
    ).update(state=Playout.State.FAILED, error=PlayoutError.LOST, node="", pid=None, ended_at=timezone.now())
