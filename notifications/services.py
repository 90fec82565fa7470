import asyncio
from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import partial
from itertools import islice

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from accounts.models import User
from notifications import events, presence
from notifications.models import Notification
from notifications.selectors import notifications_unread_count
from rooms.models import Follow
from streams.models import Stream
from vod.models import Vod

# An encoder that drops and comes back within this long is a reconnect, not a new stream to announce.
RECONNECT_WINDOW = timedelta(minutes=2)
FAN_OUT_BATCH = 5000
PRUNE_AFTER = timedelta(days=90)
PRUNE_BATCH = 10_000
MESSAGE_MAX_LENGTH = Notification._meta.get_field("message").max_length


def _batches(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(ids)
    while batch := list(islice(iterator, size)):
        yield batch


def _message(text: str) -> str:
    return Truncator(text).chars(MESSAGE_MAX_LENGTH)


def _push(messages: dict[int, dict]) -> None:
    """Send each user's event to their personal group, all sends in flight together."""
    if not messages:
        return
    layer = get_channel_layer()

    async def send_all() -> None:
        await asyncio.gather(
            *(layer.group_send(events.user_group_name(pk), event) for pk, event in messages.items())
        )

    async_to_sync(send_all)()


def _fan_out(*, recipient_ids: Iterable[int], fields: dict) -> int:
    """Store one notification per recipient (duplicates are dropped by the database's unique constraints)
    in batches, and push the rows this run created to the recipients that are online. Returns how many
    recipients were processed."""
    run_started = timezone.now()
    processed = 0
    for batch in _batches(recipient_ids, FAN_OUT_BATCH):
        Notification.objects.bulk_create(
            [Notification(recipient_id=pk, **fields) for pk in batch], ignore_conflicts=True
        )
        processed += len(batch)
        online = presence.online_among(batch)
        if online:
            _push_created(recipient_ids=online, fields=fields, since=run_started)
    return processed


def _push_created(*, recipient_ids: list[int], fields: dict, since) -> None:
    # Rows stored before this run started were pushed by the run that stored them (a retried task or a
    # replayed hook must not toast twice).
    created = Notification.objects.filter(recipient_id__in=recipient_ids, created_at__gte=since, **fields)
    unread = dict(
        Notification.objects.filter(recipient_id__in=recipient_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values_list("recipient_id", "n")
    )
    messages = {}
    for notification in created:
        # Every row shares actor, room and VOD: attach the loaded objects instead of a join per row.
        for name in ("actor", "room", "vod"):
            setattr(notification, name, fields.get(name))
        messages[notification.recipient_id] = events.notification_pushed(
            notification=notification, unread=unread.get(notification.recipient_id, 0)
        )
    _push(messages)


def notifications_for_live_start(*, stream_id: int) -> int:
    """Alert the streamer's followers with the bell on, once per stream; a quick reconnect is no news."""
    stream = Stream.objects.select_related("room__owner").filter(pk=stream_id).first()
    if stream is None or stream.status != Stream.Status.LIVE or stream_is_reconnect(stream=stream):
        return 0
    room = stream.room
    recipients = (
        Follow.objects.filter(followed_id=room.owner_id, notify=True)
        .values_list("follower_id", flat=True)
        .iterator(chunk_size=FAN_OUT_BATCH)
    )
    message = _("%(name)s is live: %(title)s") % {"name": room.owner.shown_name, "title": room.title}
    fields = {
        "kind": Notification.Kind.LIVE_STARTED,
        "actor": room.owner,
        "room": room,
        "vod": None,
        "stream": stream,
        "message": _message(message),
    }
    return _fan_out(recipient_ids=recipients, fields=fields)


def stream_is_reconnect(*, stream: Stream) -> bool:
    """Whether the room's previous stream ended less than RECONNECT_WINDOW before this one started."""
    return (
        Stream.objects.filter(
            room_id=stream.room_id,
            started_at__lt=stream.started_at,
            ended_at__gte=stream.started_at - RECONNECT_WINDOW,
        )
        .exclude(pk=stream.pk)
        .exists()
    )


def notifications_for_vod(*, vod_id: int) -> int:
    """Tell every follower of the room's owner that a past broadcast can be watched."""
    vod = Vod.objects.select_related("room__owner").filter(pk=vod_id, status=Vod.Status.READY).first()
    if vod is None:
        return 0
    owner = vod.room.owner
    recipients = (
        Follow.objects.filter(followed_id=owner.pk)
        .values_list("follower_id", flat=True)
        .iterator(chunk_size=FAN_OUT_BATCH)
    )
    message = _("New video from %(name)s: %(title)s") % {"name": owner.shown_name, "title": vod.title}
    fields = {
        "kind": Notification.Kind.NEW_VOD,
        "actor": owner,
        "room": vod.room,
        "vod": vod,
        "stream": None,
        "message": _message(message),
    }
    return _fan_out(recipient_ids=recipients, fields=fields)


def notifications_for_new_follower(*, follow_id: int) -> int:
    follow = Follow.objects.select_related("follower").filter(pk=follow_id).first()
    if follow is None:  # unfollowed before the worker got to it
        return 0
    fields = {
        "kind": Notification.Kind.NEW_FOLLOWER,
        "actor": follow.follower,
        "room": None,
        "vod": None,
        "stream": None,
        "message": _message(_("%(name)s followed you.") % {"name": follow.follower.shown_name}),
    }
    return _fan_out(recipient_ids=[follow.followed_id], fields=fields)


def notify_vod_ready(*, vod: Vod) -> None:
    """For the VOD job: once the VOD is committed as ready, its room's followers hear about it."""
    from notifications.tasks import notify_new_vod

    transaction.on_commit(partial(notify_new_vod.delay, vod_id=vod.pk), robust=True)


def unread_count_push(*, user_id: int) -> None:
    """Tell the user's open pages their unread count changed (badges in other tabs)."""
    _push({user_id: events.unread_changed(unread=notifications_unread_count(user_id=user_id))})


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given); others' ids are ignored."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    marked = unread.update(read_at=timezone.now())
    if marked:
        transaction.on_commit(partial(unread_count_push, user_id=user.pk), robust=True)
    return marked


def notifications_prune(*, older_than: timedelta = PRUNE_AFTER) -> int:
    """Delete read notifications created before ``older_than`` ago, in short batches; returns how many."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        ids = list(
            Notification.objects.filter(read_at__isnull=False, created_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:PRUNE_BATCH]
        )
        if not ids:
            return deleted
        deleted += Notification.objects.filter(pk__in=ids).delete()[0]
