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
from accounts.services import user_may_stream
from chat.events import room_state_event
from chat.hub import room_events_publish
from notifications.tasks import notify_live_started
from rooms.cache import room_lists_changed
from rooms.models import Room, StreamKey, stream_secret_digest
from streamlite.logs import log_context_bind
from streams import selectors
from streams.ingest import IngestPublisher, ingest_publishers
from streams.models import PublishBlock, PublishRefusal, RoomRecord, Stream

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


def room_state_changed(*, room_id: int, status: str) -> None:
    """The follow-ups of a room going live or idle, run by the worker."""
    room_state_broadcast(room_id=room_id, status=status)
    room_lists_changed()


def _on_room_state_change(*, room_id: int, status: str) -> None:
    # The hook answers nginx as soon as the rows are committed; the follow-ups go to the worker, and
    # robust: a broker hiccup after commit must not turn the hook into a 500.
    from streams.tasks import room_state_changed_task

    transaction.on_commit(partial(room_state_changed_task.delay, room_id=room_id, status=status), robust=True)


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
    logger.warning("publish with a wrong stream key from %s", addr)
    if count >= selectors.BAD_KEY_LIMIT:
        _publish_block_mark(addr=addr)


def _publish_block_mark(*, addr: str) -> None:
    """Send the address's publishes from the fast path to the view (which asks the cache) for as long as
    the count may last; expired marks of other addresses go at the same time."""
    now = timezone.now()
    PublishBlock.objects.filter(until__lt=now).delete()
    until = now + timedelta(seconds=selectors.BAD_KEY_WINDOW_S)
    PublishBlock.objects.update_or_create(
        addr=addr[: PublishBlock._meta.get_field("addr").max_length], defaults={"until": until}
    )


def stream_publish(*, secret: str, client_id: str, addr: str) -> Stream:
    """The ingest's on_publish: check the address and the key, then open (or re-find) the room's stream.

    One transaction of few statements: fifty encoders may publish in the same instant (an ingest
    restarting), and nginx waits for each answer (docs/benchmarks.md, on_publish hook latency). Its
    common case takes the faster path of streams.publish_app, which leaves everything else here."""
    if selectors.publish_address_blocked(addr=addr):
        raise PublishRefused()
    with transaction.atomic():
        # The owner's row lock serialises their publishes, so two rooms cannot both slip under the quota.
        key = selectors.stream_key_by_secret(secret=secret, lock_owner=True)
        if key is not None:
            return _stream_start(room=key.room, client_id=client_id, addr=addr)
    # Counted outside the transaction: the refusal must not take the count's database mark back with it.
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
    Room.objects.filter(pk=room.pk).update(status=Room.Status.LIVE)
    room.status = Room.Status.LIVE
    activity_record(
        action=ActivityLog.Action.GO_LIVE, user=owner, room_id=room.pk, stream_id=stream.pk, addr=addr
    )
    # One enqueue for every follow-up (robust: a broker hiccup after commit must not turn the hook into a
    # 500); the worker broadcasts, refreshes the lists and starts the followers' notifications.
    from streams.tasks import stream_live_followups_task

    transaction.on_commit(partial(stream_live_followups_task.delay, stream_id=stream.pk), robust=True)
    return stream


def stream_live_followups(*, stream_id: int) -> None:
    """What a room going live causes outside the database, run by the worker once the stream is committed.

    A stream already ended sends nothing: its end told the room idle and refreshed the lists. Safe to
    run twice: the broadcast is a state, the refusal is gone already, and the notifications are kept
    once per recipient and stream."""
    stream = Stream.objects.filter(pk=stream_id, status=Stream.Status.LIVE).only("room_id").first()
    if stream is None:
        return
    cache.delete(selectors.publish_refusal_cache_key(stream.room_id))
    room_state_changed(room_id=stream.room_id, status=Room.Status.LIVE)
    notify_live_started.delay(stream_id=stream_id)


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
    Room.objects.filter(pk=locked.room_id).update(status=Room.Status.IDLE, viewer_count=0)
    activity_record(
        action=ActivityLog.Action.STREAM_END,
        user=locked.room.owner,
        room_id=locked.room_id,
        stream_id=locked.pk,
        reason=locked.end_reason,
    )
    stream.status, stream.ended_at, stream.end_reason = locked.status, locked.ended_at, locked.end_reason
    _on_room_state_change(room_id=locked.room_id, status=Room.Status.IDLE)


def stream_heartbeat(*, stream: Stream) -> None:
    Stream.objects.filter(pk=stream.pk, status=Stream.Status.LIVE).update(last_heartbeat_at=timezone.now())


def _vod_enqueue(stream_id: int) -> None:
    # The VOD issue brings vod.tasks.vod_process; until then the recording path is only stored.
    try:
        from vod.tasks import vod_process
    except ImportError:
        return
    vod_process.delay(stream_id=stream_id)


@transaction.atomic
def stream_recorded(*, stream: Stream, path: str) -> None:
    """Keep the recording the ingest finished for the stream and hand it to the VOD job, once."""
    updated = Stream.objects.filter(pk=stream.pk, recording_path="").update(recording_path=path)
    if updated:
        stream.recording_path = path
        transaction.on_commit(partial(_vod_enqueue, stream.pk))


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
