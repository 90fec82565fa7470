import logging
import os
from datetime import datetime, timedelta
from functools import partial

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.activity import activity_record
from accounts.models import ActivityLog
from accounts.plans import user_plan
from accounts.services import site_settings_get, user_may_stream
from chat.events import room_state_event
from chat.hub import room_events_publish
from chat.presence import (
    room_live_announce,
    room_live_clear,
    stream_stats_forget,
    stream_stats_read,
    stream_stats_tracked,
)
from rooms.cache import room_lists_changed
from rooms.models import Room, StreamKey, stream_secret_digest
from streamlite.encoders import ladder_encoder_available
from streamlite.events import send_on_commit
from streamlite.logs import log_context_bind
from streams import selectors
from streams.ingest import IngestPublisher, ingest_publishers
from streams.ladder import Rung, ladder_rungs
from streams.models import LadderError, LadderState, PublishRefusal, RoomRecord, Stream
from streams.signals import recording_done, stream_ended, stream_started

logger = logging.getLogger(__name__)

PUBLISH_REFUSAL_TTL_S = 600
# A publisher nginx has just accepted shows up in /stat a moment after the publish hook answered.
RECONCILE_GRACE_S = 15


class PublishRefused(Exception):
    def __init__(self, refusal: PublishRefusal | None = None):
        self.refusal = refusal
        super().__init__(refusal.label if refusal else "publish refused")


def room_state_broadcast(*, room_id: int, status: str) -> None:
    """Tell open room pages the room went live or idle (through the chat hub's room channel)."""
    room_events_publish(room_id=room_id, events=[room_state_event(status=status)])


def _room_state_changed(*, room_id: int, status: str) -> None:
    room_state_broadcast(room_id=room_id, status=status)
    room_lists_changed()
    if status == Room.Status.LIVE:
        cache.delete(selectors.publish_refusal_cache_key(room_id))


def _on_room_state_change(*, room_id: int, status: str) -> None:
    """Once the new state is committed, tell open room pages and outdate the cached lists.

    In the hook's own request rather than a Celery task: a few Redis writes cost the web process less
    than an enqueue, and the rooms read live without waiting behind the worker's queue (docs/benchmarks.md,
    reconnect storm). Robust: a Redis hiccup after commit must not turn the hook into a 500."""
    transaction.on_commit(partial(_room_state_changed, room_id=room_id, status=status), robust=True)


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=3 * settings.RTMP_UPDATE_INTERVAL_S)


def _refuse(*, room: Room, refusal: PublishRefusal) -> PublishRefused:
    cache.set(selectors.publish_refusal_cache_key(room.pk), refusal.value, PUBLISH_REFUSAL_TTL_S)
    logger.info("publish refused room=%s reason=%s", room.pk, refusal.value)
    return PublishRefused(refusal)


def publish_bad_key_record(*, addr: str) -> None:
    """Count a wrong key from ``addr``; past the limit the address is refused until the window ends."""
    key = selectors.bad_key_cache_key(addr)
    cache.add(key, 0, timeout=selectors.BAD_KEY_WINDOW_S)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ran out between add and incr
        cache.set(key, count := 1, timeout=selectors.BAD_KEY_WINDOW_S)
    logger.warning("publish with a wrong stream key from %s (%d in the window)", addr, count)


def stream_publish(*, secret: str, client_id: str, addr: str) -> Stream:
    """The ingest's on_publish, every go-live rule in one place: the address's wrong-key block, the key,
    then (in _stream_start) the re-find of the same encoder, a live stream in the way, approval and the
    live quota.

    One transaction of few statements: after an ingest restart every encoder publishes at once, and
    nginx holds each one until its answer (docs/benchmarks.md, reconnect storm)."""
    if selectors.publish_address_blocked(addr=addr):
        raise PublishRefused()
    with transaction.atomic():
        # The owner's row lock serialises their publishes, so two rooms cannot both slip under the quota.
        key = selectors.stream_key_by_secret(secret=secret, lock_owner=True)
        if key is not None:
            return _stream_start(room=key.room, client_id=client_id, addr=addr)
    publish_bad_key_record(addr=addr)
    raise PublishRefused()


def _stream_start(*, room: Room, client_id: str, addr: str) -> Stream:
    """Open the room's live stream; the same ingest client publishing again gets its open stream back.

    Runs in stream_publish's transaction, with the owner's row locked."""
    owner = room.owner
    # One query for both checks: the owner's live streams are at most their (small) quota. Unordered: the
    # model's default order costs the hot path SQL compilation for nothing.
    owner_live = list(Stream.objects.filter(room__owner=owner, status=Stream.Status.LIVE).order_by())
    open_stream = next((stream for stream in owner_live if stream.room_id == room.pk), None)
    if open_stream is not None and open_stream.client_id == client_id:
        return open_stream
    if open_stream is not None:
        seen = open_stream.last_heartbeat_at or open_stream.started_at
        if seen >= _stale_before():
            raise _refuse(room=room, refusal=PublishRefusal.ALREADY_LIVE)
        # Its ingest went away without a publish_done (nginx killed): the encoder reconnecting replaces it.
        stream_end(stream=open_stream, reason="replaced")
        owner_live.remove(open_stream)
    if not user_may_stream(user=owner):
        raise _refuse(room=room, refusal=PublishRefusal.NOT_APPROVED)
    if len(owner_live) >= owner.live_quota:
        raise _refuse(room=room, refusal=PublishRefusal.LIVE_QUOTA)
    now = timezone.now()
    try:
        # No savepoint: a lost race ends this transaction anyway, with nothing else written yet.
        stream = Stream.objects.create(room=room, started_at=now, client_id=client_id, last_heartbeat_at=now)
    except IntegrityError:  # one live stream per room: the database decides between racing publishers
        raise _refuse(room=room, refusal=PublishRefusal.ALREADY_LIVE) from None
    log_context_bind(stream_id=stream.pk, room_id=room.pk)
    RoomRecord.objects.create(room=room, stream=stream, started_at=now)
    Room.objects.filter(pk=room.pk).update(status=Room.Status.LIVE, live_started_at=now, last_live_at=now)
    room.status, room.live_started_at, room.last_live_at = Room.Status.LIVE, now, now
    # Chat stamps messages with the live stream from the next one on, before the worker's follow-ups.
    transaction.on_commit(
        partial(room_live_announce, room_id=room.pk, stream_id=stream.pk, started_at=now), robust=True
    )
    activity_record(
        action=ActivityLog.Action.GO_LIVE, user=owner, room_id=room.pk, stream_id=stream.pk, addr=addr
    )
    _on_room_state_change(room_id=room.pk, status=Room.Status.LIVE)
    send_on_commit(stream_started, sender=Stream, stream_id=stream.pk, room_id=room.pk)
    return stream


@transaction.atomic
def stream_end(*, stream: Stream, reason: str) -> None:
    """End a live stream, close its record and set the room idle; ending an ended stream does nothing."""
    locked = Stream.objects.select_for_update(of=("self",)).select_related("room__owner").get(pk=stream.pk)
    log_context_bind(stream_id=locked.pk, room_id=locked.room_id)
    if locked.status != Stream.Status.LIVE:
        return
    # The clock may have been set back since the start; the row must still end after it starts.
    ended_at = max(timezone.now(), locked.started_at)
    locked.status = Stream.Status.ENDED
    locked.ended_at = ended_at
    locked.end_reason = reason[: Stream._meta.get_field("end_reason").max_length]
    locked.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    RoomRecord.objects.filter(stream=locked, ended_at__isnull=True).update(ended_at=ended_at)
    # One live stream per room (a database constraint), so ending it leaves the room idle.
    Room.objects.filter(pk=locked.room_id).update(
        status=Room.Status.IDLE, live_started_at=None, viewer_count=0, ladder_live=False
    )
    activity_record(
        action=ActivityLog.Action.STREAM_END,
        user=locked.room.owner,
        room_id=locked.room_id,
        stream_id=locked.pk,
        reason=locked.end_reason,
    )
    stream.status, stream.ended_at, stream.end_reason = locked.status, locked.ended_at, locked.end_reason
    transaction.on_commit(partial(room_live_clear, room_id=locked.room_id), robust=True)
    _on_room_state_change(room_id=locked.room_id, status=Room.Status.IDLE)
    send_on_commit(stream_ended, sender=Stream, stream_id=locked.pk, room_id=locked.room_id)


def stream_heartbeat(*, stream: Stream) -> None:
    Stream.objects.filter(pk=stream.pk, status=Stream.Status.LIVE).update(last_heartbeat_at=timezone.now())


@transaction.atomic
def stream_recorded(*, stream: Stream, path: str) -> None:
    """Keep the recording the ingest finished for the stream and announce it, once."""
    updated = Stream.objects.filter(pk=stream.pk, recording_path="").update(recording_path=path)
    if updated:
        stream.recording_path = path
        send_on_commit(recording_done, sender=Stream, stream_id=stream.pk)


def recording_path_allowed(*, path: str) -> bool:
    """Only files under RECORDINGS_ROOT, links resolved: the VOD job must never be pointed elsewhere."""
    if not os.path.isabs(path) or "\x00" in path:
        return False
    root = os.path.realpath(settings.RECORDINGS_ROOT)
    real = os.path.realpath(path)
    return real != root and os.path.commonpath([root, real]) == root


def streams_reap_stale() -> int:
    """End live streams whose ingest stopped sending heartbeats (three update intervals); returns how many."""
    stale = (
        Stream.objects.filter(status=Stream.Status.LIVE)
        .annotate(seen=Coalesce("last_heartbeat_at", "started_at"))
        .filter(seen__lt=_stale_before())
    )
    ended = 0
    for stream in stale:
        stream_end(stream=stream, reason="heartbeat_lost")
        ended += 1
    return ended


def stream_stats_refresh(*, stream: Stream) -> Stream:
    """A live stream's bitrate and resolution from the ingest now, when the periodic reconcile has not
    filled them in yet (the streamer's dashboard asks in the first minute live)."""
    if stream.status != Stream.Status.LIVE or (stream.bitrate_kbps and stream.resolution):
        return stream
    try:
        publishers = ingest_publishers()
    except requests.RequestException:
        return stream  # the next reconcile fills them in
    digests = set(StreamKey.objects.filter(room_id=stream.room_id).values_list("secret_digest", flat=True))
    for publisher in publishers:
        if publisher.client_id == stream.client_id and stream_secret_digest(publisher.name) in digests:
            stats = publisher.stream_stats()
            Stream.objects.filter(pk=stream.pk).update(**stats)
            for field, value in stats.items():
                setattr(stream, field, value)
            break
    return stream


def ingest_reconcile(*, publishers: list[IngestPublisher]) -> int:
    """End live streams the ingest no longer carries, refresh the stats of those it does; returns ends."""
    digests = {stream_secret_digest(p.name): p for p in publishers}
    room_of_digest = dict(
        StreamKey.objects.filter(secret_digest__in=digests).values_list("secret_digest", "room_id")
    )
    carried = {(room_of_digest[d], p.client_id): p for d, p in digests.items() if d in room_of_digest}
    grace = timezone.now() - timedelta(seconds=RECONCILE_GRACE_S)
    ended = 0
    for stream in Stream.objects.filter(status=Stream.Status.LIVE):
        publisher = carried.get((stream.room_id, stream.client_id))
        if publisher is not None:
            Stream.objects.filter(pk=stream.pk).update(**publisher.stream_stats())
        elif stream.started_at < grace:
            stream_end(stream=stream, reason="ingest_lost")
            ended += 1
    return ended


def room_records_stats_save() -> int:
    """Write chat's counts of each tracked stream into its RoomRecord; an ended stream is written a last
    time and forgotten. Live streams are announced to chat again, so an emptied Redis heals within a
    round. Returns how many records were written."""
    for stream in Stream.objects.filter(status=Stream.Status.LIVE).only("room_id", "started_at"):
        room_live_announce(room_id=stream.room_id, stream_id=stream.pk, started_at=stream.started_at)
    written = 0
    for stream_id in stream_stats_tracked():
        stats = stream_stats_read(stream_id)
        written += RoomRecord.objects.filter(stream_id=stream_id).update(
            total_comments=stats["comments"],
            peak_viewers=stats["peak"],
            unique_viewers=stats["unique"],
            avg_watch_seconds=stats["watch_ms"] // 1000 // stats["watch_n"] if stats["watch_n"] else 0,
        )
        if not Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).exists():
            stream_stats_forget(stream_id)
    return written


# The ladder states in which a stream holds one of the site's transcoding slots.
LADDER_SLOT_STATES = (LadderState.PENDING, LadderState.RUNNING)


def _ladder_refusal(*, stream: Stream, source_height: int, max_streams: int) -> LadderState | None:
    if not stream.room.ladder_enabled:
        return LadderState.ROOM_OFF
    if not user_plan(user=stream.room.owner).quality_ladder:
        return LadderState.PLAN_OFF
    if max_streams == 0 or not ladder_encoder_available():
        return LadderState.SITE_OFF
    if not ladder_rungs(source_height=source_height):
        return LadderState.TOO_SMALL
    return None


def ladder_claim(*, stream_id: int, node: str, source_height: int) -> list[Rung]:
    """Take a transcoding slot for a live stream nobody transcodes, when its room, its owner's plan and the
    site allow one and a slot is free; returns the rungs to make (none: the stream plays its source only,
    and its ladder state says why).

    The site settings row is locked, so workers claiming at once cannot take more slots than staff set."""
    with transaction.atomic():
        site = site_settings_get()
        site = type(site).objects.select_for_update().get(pk=site.pk)
        stream = (
            Stream.objects.select_for_update(of=("self",)).select_related("room__owner").get(pk=stream_id)
        )
        if (
            stream.status != Stream.Status.LIVE
            or stream.ladder_node
            or stream.ladder_state == LadderState.FAILED
        ):
            return []
        refusal = _ladder_refusal(
            stream=stream, source_height=source_height, max_streams=site.ladder_max_streams
        )
        if refusal is None and _ladder_slots_taken(exclude=stream.pk) >= site.ladder_max_streams:
            refusal = LadderState.LIMIT
        if refusal is not None:
            if stream.ladder_state != refusal:
                Stream.objects.filter(pk=stream.pk).update(ladder_state=refusal)
            return []
        rungs = ladder_rungs(source_height=source_height)
        Stream.objects.filter(pk=stream.pk).update(
            ladder_state=LadderState.PENDING,
            ladder_node=node,
            ladder_seen_at=timezone.now(),
            ladder_source_height=source_height,
            ladder_rungs=[rung.name for rung in rungs],
            ladder_restarts=0,
        )
    logger.info("quality ladder of stream %s claimed by %s: %s", stream_id, node, [r.name for r in rungs])
    return rungs


def _ladder_slots_taken(*, exclude: int) -> int:
    seen_after = timezone.now() - timedelta(seconds=settings.LADDER_ORPHAN_S)
    return (
        Stream.objects.filter(status=Stream.Status.LIVE, ladder_state__in=LADDER_SLOT_STATES)
        .exclude(ladder_node="")
        .filter(ladder_seen_at__gte=seen_after)
        .exclude(pk=exclude)
        .count()
    )


def ladder_progress(*, stream_id: int, node: str, pid: int, running: bool, restarts: int) -> None:
    """The worker's report on its transcoder; once every rung plays, players get the master playlist."""
    changes = {"ladder_seen_at": timezone.now(), "ladder_pid": pid, "ladder_restarts": restarts}
    if running:
        changes["ladder_state"] = LadderState.RUNNING
    with transaction.atomic():
        updated = Stream.objects.filter(pk=stream_id, ladder_node=node, status=Stream.Status.LIVE).update(
            **changes
        )
        if updated and running:
            Room.objects.filter(streams__pk=stream_id, ladder_live=False).update(ladder_live=True)


def ladder_release(
    *, stream_id: int, node: str, state: LadderState, error: LadderError | None = None
) -> None:
    """The worker stopped the stream's transcoder: players go back to the source playlist."""
    with transaction.atomic():
        updated = Stream.objects.filter(pk=stream_id, ladder_node=node).update(
            ladder_state=state, ladder_error=error or "", ladder_node="", ladder_pid=None
        )
        if updated:
            Room.objects.filter(streams__pk=stream_id).update(ladder_live=False)
    if error:
        logger.warning("quality ladder of stream %s failed (%s): it plays its source only", stream_id, error)


def ladder_orphans_clean() -> int:
    """Streams whose transcoding worker stopped reporting: free for another worker to claim."""
    seen_before = timezone.now() - timedelta(seconds=settings.LADDER_ORPHAN_S)
    orphans = Stream.objects.filter(
        status=Stream.Status.LIVE, ladder_state__in=LADDER_SLOT_STATES, ladder_seen_at__lt=seen_before
    ).exclude(ladder_node="")
    with transaction.atomic():
        Room.objects.filter(streams__in=orphans).update(ladder_live=False)
        return orphans.update(ladder_state=LadderState.PENDING, ladder_node="", ladder_pid=None)
