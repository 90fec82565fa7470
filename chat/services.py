import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from pymongo.errors import PyMongoError

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from chat import events
from chat.archive import DELETED_TTL_S, message_delete_op
from chat.hub import room_events_publish, user_sockets_close
from chat.models import ChatBan
from chat.wordfilter import words_parse
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.redis import keys, redis_sync

TIMEOUT_MINUTES = (5, 60, 1440)
BLOCKED_WORDS_MAX = 500


@transaction.atomic
def chat_ban_create(
    *,
    user: User,
    room: Room | None = None,
    by: User | None,
    reason: str = "",
    expires_at: datetime | None = None,
) -> ChatBan:
    """Ban ``user`` from chatting in ``room``, or sitewide when ``room`` is None, until ``expires_at``
    (None: for good). Banning again while a ban at least as long holds returns that ban unchanged."""
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationError(_("A ban must end in the future."), code="expired")
    # Lock the user row so two moderators banning at once leave one ban, not two.
    User.objects.select_for_update().filter(pk=user.pk).first()
    holding = ChatBan.objects.filter(user=user, room=room).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if expires_at is not None:
        holding = holding.filter(Q(expires_at__isnull=True) | Q(expires_at__gte=expires_at))
    else:
        holding = holding.filter(expires_at__isnull=True)
    ban = holding.first()
    if ban is not None:
        return ban
    ban = ChatBan(user=user, room=room, created_by=by, reason=reason, expires_at=expires_at)
    ban.full_clean(exclude=["user", "room", "created_by"])
    ban.save()
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="chat_ban",
        banned_user_id=user.pk,
        room_id=room.pk if room is not None else None,
        expires_at=expires_at.isoformat() if expires_at is not None else None,
    )
    return ban


def room_chat_rules_changed(room_id: int) -> None:
    """Drop the cached rules so the next message in the room reads them fresh; call it on commit."""
    redis_sync().delete(keys.chat_rules(room_id))


def moderation_allowed(*, room: Room, user: User) -> bool:
    """Whether ``user`` may moderate the room's chat: its owner, a moderator it appointed, or staff."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.pk == room.owner_id or room.moderators.filter(pk=user.pk).exists()


def _moderation_check(*, room: Room, by: User) -> None:
    if not moderation_allowed(room=room, user=by):
        raise PermissionDenied(_("Only the room's owner, its moderators and staff may moderate its chat."))


def _owner_check(*, room: Room, by: User) -> None:
    if not (by.is_authenticated and (by.is_staff or by.pk == room.owner_id)):
        raise PermissionDenied(_("Only the room's owner or staff may appoint moderators."))


def _is_moderator(*, room: Room, user: User) -> bool:
    return room.moderators.filter(pk=user.pk).exists()


def _target_check(*, room: Room, user: User, by: User) -> None:
    """Who may be timed out or banned by whom: never the owner; staff only by staff; a moderator only by
    the owner or staff, so moderators cannot turn on each other."""
    if user.pk == room.owner_id:
        raise ValidationError(
            _("The room's owner cannot be timed out or banned in their own room."), code="owner"
        )
    if user.is_staff and not by.is_staff:
        raise PermissionDenied(_("Staff cannot be timed out or banned by a room's moderators."))
    if not (by.is_staff or by.pk == room.owner_id) and _is_moderator(room=room, user=user):
        raise PermissionDenied(_("Only the room's owner or staff may time out or ban a moderator."))


def _message_in_room(*, client, room: Room, message_id: int) -> bool | None:
    """Whether the message was sent in ``room``: True or False when known (the recent list, the archive),
    None when the archive cannot be asked."""
    for raw in client.lrange(keys.chat_recent(room.pk), 0, -1):
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("id") == message_id
            and event.get("type") in ("chat", "danmaku")
        ):
            return True
    try:
        document = mongo_db()[MESSAGES].find_one({"_id": message_id}, {"room": 1})
    except PyMongoError:
        return None
    return document is not None and document.get("room") == room.pk


def _recent_remove(*, room_id: int, message_id: int) -> None:
    client = redis_sync()
    key = keys.chat_recent(room_id)
    for raw in client.lrange(key, 0, -1):
        try:
            event = json.loads(raw)
            kind, event_id = event.get("type"), event.get("id")
        except (ValueError, AttributeError):
            continue
        # Only the message: an earlier delete event of it stays for clients resuming past it.
        if kind in ("chat", "danmaku") and event_id == message_id:
            client.lrem(key, 0, raw)


@transaction.atomic
def chat_message_delete(*, room: Room, message_id: int, by: User) -> None:
    """Hide a message for everyone: in the archive (now, or when it is archived later), in the recent list
    late joiners get, and live on every open page."""
    _moderation_check(room=room, by=by)
    client = redis_sync()
    next_id = client.get(keys.CHAT_NEXT_ID)
    if message_id < 1 or next_id is None or message_id > int(next_id):
        raise ValidationError({"message_id": _("There is no such message.")}, code="not_found")
    # Another room's message is no message of this room: its moderators must not learn or touch it. With
    # the archive down the room in the deletion's filter still keeps other rooms' messages safe.
    if _message_in_room(client=client, room=room, message_id=message_id) is False:
        raise Http404(_("There is no such message."))
    # First the mark that the flusher reads after each upsert, then MongoDB: whichever order the flush and
    # this run in, the archived document ends up deleted (see chat.archive.outbox_flush).
    client.set(keys.chat_deleted(message_id), room.pk, ex=DELETED_TTL_S)
    try:
        mongo_db()[MESSAGES].bulk_write([message_delete_op(message_id=message_id, room_id=room.pk)])
    except PyMongoError:
        # MongoDB down: the outbox carries the deletion to the archive once it is back.
        client.xadd(keys.CHAT_OUTBOX, {"delete": message_id, "room": room.pk})
    _recent_remove(room_id=room.pk, message_id=message_id)
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="chat_delete",
        message_id=message_id,
        room_id=room.pk,
    )
    room_id = room.pk
    transaction.on_commit(
        lambda: room_events_publish(room_id=room_id, events=[events.delete_event(id=message_id)])
    )


def _kick_on_commit(*, room: Room, user: User) -> None:
    room_id, user_id = room.pk, user.pk
    transaction.on_commit(lambda: user_sockets_close(user_id=user_id, room_id=room_id))


@transaction.atomic
def chat_timeout(*, room: Room, user: User, minutes: int, by: User, reason: str = "") -> ChatBan:
    """Keep ``user`` out of the room's chat for 5 minutes, an hour or a day; their open sockets close."""
    _moderation_check(room=room, by=by)
    if minutes not in TIMEOUT_MINUTES:
        raise ValidationError(_("A timeout lasts 5, 60 or 1440 minutes."), code="invalid")
    _target_check(room=room, user=user, by=by)
    ban = chat_ban_create(
        user=user, room=room, by=by, reason=reason, expires_at=timezone.now() + timedelta(minutes=minutes)
    )
    _kick_on_commit(room=room, user=user)
    return ban


@transaction.atomic
def chat_room_ban(*, room: Room, user: User, by: User, reason: str = "") -> ChatBan:
    """Ban ``user`` from the room's chat for good (until lifted); their open sockets close."""
    _moderation_check(room=room, by=by)
    _target_check(room=room, user=user, by=by)
    ban = chat_ban_create(user=user, room=room, by=by, reason=reason, expires_at=None)
    _kick_on_commit(room=room, user=user)
    return ban


@transaction.atomic
def chat_room_ban_lift(*, room: Room, user: User, by: User) -> int:
    """End the user's bans and timeouts in the room (sitewide bans stay, they are staff's); returns how
    many were in force. The rows stay, ended now, as a record."""
    _moderation_check(room=room, by=by)
    if user.pk == by.pk and not (by.is_staff or by.pk == room.owner_id):
        raise PermissionDenied(_("Moderators cannot lift their own ban or timeout."))
    now = timezone.now()
    lifted = (
        ChatBan.objects.filter(user=user, room=room)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .update(expires_at=now)
    )
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="chat_unban",
        unbanned_user_id=user.pk,
        room_id=room.pk,
    )
    return lifted


@transaction.atomic
def room_chat_rules_update(
    *,
    room: Room,
    by: User,
    allow_comments: bool | None = None,
    slow_mode_seconds: int | None = None,
    comment_cooldown_ms: int | None = None,
    blocked_words: Iterable[str] | None = None,
) -> Room:
    """Change the room's chat rules (None: unchanged); the pipeline sees them at the next message."""
    _moderation_check(room=room, by=by)
    changes: dict = {}
    if allow_comments is not None:
        changes["allow_comments"] = allow_comments
    if slow_mode_seconds is not None:
        changes["slow_mode_seconds"] = slow_mode_seconds
    if comment_cooldown_ms is not None:
        changes["comment_cooldown_ms"] = comment_cooldown_ms
    if blocked_words is not None:
        words = words_parse("\n".join(blocked_words))
        if len(words) > BLOCKED_WORDS_MAX:
            raise ValidationError(
                {"blocked_words": _("At most %(count)d blocked words.") % {"count": BLOCKED_WORDS_MAX}}
            )
        changes["blocked_words"] = "\n".join(words)
    for name, value in changes.items():
        setattr(room, name, value)
    if changes:
        room.full_clean(validate_unique=False, validate_constraints=False)
        room.save(update_fields=[*changes, "updated_at"])
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="chat_rules",
        room_id=room.pk,
        changed=sorted(changes),
    )
    room_id = room.pk
    transaction.on_commit(lambda: room_chat_rules_changed(room_id))
    return room


@transaction.atomic
def room_moderator_add(*, room: Room, user: User, by: User) -> None:
    _owner_check(room=room, by=by)
    if user.pk == room.owner_id:
        raise ValidationError(_("The owner already moderates their room."), code="owner")
    room.moderators.add(user)
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="moderator_add",
        moderator_id=user.pk,
        room_id=room.pk,
    )
    room_id = room.pk
    transaction.on_commit(lambda: room_chat_rules_changed(room_id))


@transaction.atomic
def room_moderator_remove(*, room: Room, user: User, by: User) -> None:
    _owner_check(room=room, by=by)
    room.moderators.remove(user)
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="moderator_remove",
        moderator_id=user.pk,
        room_id=room.pk,
    )
    room_id = room.pk
    transaction.on_commit(lambda: room_chat_rules_changed(room_id))
