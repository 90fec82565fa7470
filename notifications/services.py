import asyncio
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import partial
from itertools import islice

from channels.layers import get_channel_layer
from django.db import connections, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from accounts.models import User
from notifications import events
from notifications.models import Notification
from notifications.selectors import notifications_unread_count, users_online
from notifications.texts import notification_text
from rooms.models import Follow
from schedule.models import ScheduledStream
from schedule.selectors import reminder_user_ids
from streams.models import Stream
from vod.models import Vod

logger = logging.getLogger(__name__)

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


def _push(messages: dict[int, dict], *, runner: asyncio.Runner) -> None:
    """Send each user's event to their personal group, all sends in flight together."""
    if not messages:
        return
    layer = get_channel_layer()

    async def send_all() -> None:
        await asyncio.gather(
            *(layer.group_send(events.user_group_name(pk), event) for pk, event in messages.items())
        )

    runner.run(send_all())


def _fan_out(*, recipient_ids: Iterable[int], fields: dict) -> int:
    """Store one notification per recipient in batches and push the new ones to recipients online.

    Rows the database already holds (a retried task, a replayed hook) are skipped by its unique
    constraints and not pushed again. Returns how many recipients were processed."""
    processed = 0
    # One event loop for every batch's pushes: the channel layer keeps its Redis connections per loop.
    with asyncio.Runner() as runner:
        for batch in _batches(recipient_ids, FAN_OUT_BATCH):
            batch_fields = {**fields, "created_at": timezone.now()}
            created = _insert_new(recipient_ids=batch, fields=batch_fields)
            processed += len(batch)
            try:
                online = users_online(created)
                if online:
                    _push_created(
                        created={pk: created[pk] for pk in online}, fields=batch_fields, runner=runner
                    )
            except RedisError:
                # Pushes are a courtesy (at most once); the stored rows are what must not be lost.
                logger.warning("notification pushes skipped for a batch: Redis unavailable", exc_info=True)
    return processed


# One INSERT ... SELECT per batch with the recipients as one array parameter: building 100,000 model
# instances for bulk_create cost 15-25 s of Python in the fan-out benchmark, this costs well under one.
# ON CONFLICT DO NOTHING (any of the unique constraints) is bulk_create's ignore_conflicts, and
# RETURNING tells exactly which rows are new.
_INSERT_COLUMNS = ("kind", "actor_id", "room_id", "vod_id", "stream_id", "message", "created_at")
_RECIPIENTS_SOURCE = {
    "postgresql": "unnest(%s::bigint[]) AS recipient(value)",
    # SQLite (make run's default database): the ids as a JSON array; WHERE true keeps its parser from
    # reading ON CONFLICT as part of the join.
    "sqlite": "json_each(%s) AS recipient WHERE true",
}


def _insert_new(*, recipient_ids: list[int], fields: dict) -> dict[int, int]:
    """Insert the batch's notifications, skipping existing ones; returns recipient id → new row id."""
    connection = connections[Notification.objects.db]
    quote = connection.ops.quote_name
    values = {
        "kind": fields["kind"],
        "actor_id": getattr(fields.get("actor"), "pk", None),
        "room_id": getattr(fields.get("room"), "pk", None),
        "vod_id": getattr(fields.get("vod"), "pk", None),
        "stream_id": getattr(fields.get("stream"), "pk", None),
        "message": fields["message"],
        "created_at": connection.ops.adapt_datetimefield_value(fields["created_at"]),
    }
    ids = recipient_ids if connection.vendor == "postgresql" else json.dumps(recipient_ids)
    # Only the model's own table and column names and fixed fragments are formatted in; values are parameters.
    sql = (
        f"INSERT INTO {quote(Notification._meta.db_table)} (recipient_id, "  # noqa: S608
        f"{', '.join(quote(column) for column in _INSERT_COLUMNS)}) "
        f"SELECT recipient.value, {', '.join(['%s'] * len(_INSERT_COLUMNS))} "
        f"FROM {_RECIPIENTS_SOURCE[connection.vendor]} "
        "ON CONFLICT DO NOTHING RETURNING recipient_id, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(values[column] for column in _INSERT_COLUMNS), ids])
        return dict(cursor.fetchall())


def _push_created(*, created: dict[int, int], fields: dict, runner: asyncio.Runner) -> None:
    """Push the new notifications (recipient id → notification id) with each recipient's unread count."""
    unread = dict(
        Notification.objects.filter(recipient_id__in=created, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values_list("recipient_id", "n")
    )
    # The rows differ only in id and recipient: serialize one, then copy it per recipient.
    item = events.notification_item(Notification(**fields))
    messages = {
        recipient_id: events.notification_pushed(
            item={**item, "id": notification_id}, unread=unread.get(recipient_id, 0)
        )
        for recipient_id, notification_id in created.items()
    }
    _push(messages, runner=runner)


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
    message = notification_text(kind=Notification.Kind.LIVE_STARTED, actor=room.owner, room=room, vod=None)
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
    message = notification_text(kind=Notification.Kind.NEW_VOD, actor=owner, room=vod.room, vod=vod)
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
        "message": _message(
            notification_text(kind=Notification.Kind.NEW_FOLLOWER, actor=follow.follower, room=None, vod=None)
        ),
    }
    return _fan_out(recipient_ids=[follow.followed_id], fields=fields)


def notifications_for_reminder(*, scheduled: ScheduledStream) -> int:
    """Tell those who pressed "Remind me" that the scheduled stream starts soon."""
    room = scheduled.room
    message = _("%(name)s starts streaming soon: %(title)s") % {
        "name": room.owner.shown_name,
        "title": scheduled.title,
    }
    fields = {
        "kind": Notification.Kind.STREAM_REMINDER,
        "actor": room.owner,
        "room": room,
        "vod": None,
        "stream": None,
        "message": _message(message),
    }
    return _fan_out(recipient_ids=list(reminder_user_ids(scheduled=scheduled)), fields=fields)


def notification_system_send(*, user_id: int, message: str) -> int:
    """Tell one user something about their account or settings (a webhook disabled ...), as a system notice."""
    fields = {
        "kind": Notification.Kind.SYSTEM,
        "actor": None,
        "room": None,
        "vod": None,
        "stream": None,
        "message": _message(message),
    }
    return _fan_out(recipient_ids=[user_id], fields=fields)


def unread_count_push(*, user_id: int) -> None:
    """Tell the user's open pages their unread count changed (badges in other tabs)."""
    with asyncio.Runner() as runner:
        _push(
            {user_id: events.unread_changed(unread=notifications_unread_count(user_id=user_id))},
            runner=runner,
        )


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
