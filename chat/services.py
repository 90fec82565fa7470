import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from pymongo.errors import PyMongoError

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from chat import events
from chat.archive import DELETED_TTL_S, message_delete_op
from chat.hub import MESSAGE_TYPES, room_events_publish, user_sockets_close
from chat.models import ChatBan, Emote, EmoteUse, PinnedMessage
from chat.selectors import emote_map
from chat.wordfilter import words_parse
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.redis import chat_redis_sync, keys, redis_sync

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


def _recent_message(*, room_id: int, message_id: int) -> dict | None:
    """The message's event in the room's recent list, if it is still there."""
    for raw in chat_redis_sync().lrange(keys.chat_recent(room_id), 0, -1):
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("id") == message_id and event.get("type") in MESSAGE_TYPES:
            return event
    return None


def _message_in_room(*, room: Room, message_id: int) -> bool | None:
    """Whether the message was sent in ``room``: True or False when known (the recent list, the archive),
    None when the archive cannot be asked."""
    if _recent_message(room_id=room.pk, message_id=message_id) is not None:
        return True
    try:
        document = mongo_db()[MESSAGES].find_one({"_id": message_id}, {"room": 1})
    except PyMongoError:
        return None
    return document is not None and document.get("room") == room.pk


def _message_shown(*, room: Room, message_id: int) -> dict:
    """What a pin or highlight shows of one of the room's messages (not deleted): from the recent list,
    else the archive. Another room's message or a deleted one is not found."""
    event = _recent_message(room_id=room.pk, message_id=message_id)
    if event is not None:
        return events.shown_message(event)
    try:
        document = mongo_db()[MESSAGES].find_one({"_id": message_id, "room": room.pk, "deleted": False})
    except PyMongoError as error:
        raise ValidationError(
            {"message_id": _("This message cannot be read right now; try again shortly.")},
            code="archive_unavailable",
        ) from error
    if document is None:
        raise Http404(_("There is no such message."))
    created_at = document.get("created_at")
    return {
        "id": document["_id"],
        "user": {
            "username": document.get("username", ""),
            "display_name": document.get("display_name", ""),
            **({"level": document["level"]} if "level" in document else {}),
        },
        "text": document.get("text", ""),
        "kind": document.get("kind", "chat"),
        "created_at": created_at.isoformat() if isinstance(created_at, datetime) else str(created_at),
    }


def _recent_remove(*, room_id: int, message_id: int) -> None:
    client = chat_redis_sync()
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
    if _message_in_room(room=room, message_id=message_id) is False:
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
    # A deleted message does not stay pinned.
    unpinned, _deleted = PinnedMessage.objects.filter(room=room, message_id=message_id).delete()
    activity_record(
        action=ActivityLog.Action.MODERATION,
        user=by,
        what="chat_delete",
        message_id=message_id,
        room_id=room.pk,
    )
    told = [events.delete_event(id=message_id), *([events.unpin_event()] if unpinned else [])]
    room_id = room.pk
    transaction.on_commit(lambda: room_events_publish(room_id=room_id, events=told))


@transaction.atomic
def chat_message_pin(*, room: Room, message_id: int, by: User) -> PinnedMessage:
    """Pin one of the room's messages above its chat for everyone, in place of the pin before it."""
    _moderation_check(room=room, by=by)
    message = _message_shown(room=room, message_id=message_id)
    pin, _created = PinnedMessage.objects.update_or_create(
        room=room, defaults={"message_id": message_id, "message": message, "pinned_by": by}
    )
    activity_record(
        action=ActivityLog.Action.MODERATION, user=by, what="chat_pin", message_id=message_id, room_id=room.pk
    )
    room_id = room.pk
    transaction.on_commit(
        lambda: room_events_publish(room_id=room_id, events=[events.pin_event(message=message)])
    )
    return pin


@transaction.atomic
def chat_message_unpin(*, room: Room, by: User) -> bool:
    """Take the room's pinned message down; False when nothing was pinned."""
    _moderation_check(room=room, by=by)
    unpinned, _deleted = PinnedMessage.objects.filter(room=room).delete()
    if not unpinned:
        return False
    activity_record(action=ActivityLog.Action.MODERATION, user=by, what="chat_unpin", room_id=room.pk)
    room_id = room.pk
    transaction.on_commit(lambda: room_events_publish(room_id=room_id, events=[events.unpin_event()]))
    return True


def highlight_allowed(*, room: Room, user: User) -> bool:
    """Whether ``user`` may put a message over the room's video: the streamer (its owner), or staff."""
    return user.is_authenticated and (user.is_staff or user.pk == room.owner_id)


def chat_message_highlight(*, room: Room, message_id: int, by: User) -> dict:
    """Show one of the room's messages over the video once, on every page open now; returns it."""
    if not highlight_allowed(room=room, user=by):
        raise PermissionDenied(_("Only the streamer or staff may highlight a message."))
    message = _message_shown(room=room, message_id=message_id)
    room_events_publish(room_id=room.pk, events=[events.highlight_event(message=message)])
    return message


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
    danmaku_style_min_level: int | None = None,
    slow_mode_min_level: int | None = None,
) -> Room:
    """Change the room's chat rules (None: unchanged); the pipeline sees them at the next message."""
    _moderation_check(room=room, by=by)
    given = {
        "allow_comments": allow_comments,
        "slow_mode_seconds": slow_mode_seconds,
        "comment_cooldown_ms": comment_cooldown_ms,
        "danmaku_style_min_level": danmaku_style_min_level,
        "slow_mode_min_level": slow_mode_min_level,
    }
    changes: dict = {name: value for name, value in given.items() if value is not None}
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


# ---- emotes ----------------------------------------------------------------------------------------


def emote_manage_allowed(*, room: Room | None, user: User) -> bool:
    """Room emotes: the room's owner or staff; site emotes: staff."""
    if not user.is_authenticated:
        return False
    return user.is_staff or (room is not None and user.pk == room.owner_id)


def emotes_changed(*, room_id: int | None) -> None:
    """Drop the cached emote lists and send the new map to open pages: one room's, or (a site emote) every
    live room's. Call it on commit."""
    redis = redis_sync()
    if room_id is not None:
        redis.delete(keys.chat_emotes(room_id))
        room_ids = [room_id]
    else:
        redis.delete(keys.CHAT_EMOTES_SITE)
        room_ids = list(Room.objects.filter(status=Room.Status.LIVE).values_list("pk", flat=True))
    for each in room_ids:
        room_events_publish(room_id=each, events=[events.emotes_event(emotes=emote_map(room_id=each))])


@transaction.atomic
def emote_create(*, room: Room | None, name: str, image, by: User) -> Emote:
    """Add an emote to a room (``room``) or to the whole site (None). ``image`` has passed
    chat.forms.emote_image_field's checks."""
    if not emote_manage_allowed(room=room, user=by):
        raise PermissionDenied(_("Only the room's owner or staff may add its emotes."))
    if room is not None:
        # The room row locked: two uploads at once cannot both pass the limit.
        Room.objects.select_for_update().filter(pk=room.pk).first()
        if Emote.objects.filter(room=room).count() >= settings.EMOTES_PER_ROOM:
            raise ValidationError(
                _("A room has at most %(count)d emotes.") % {"count": settings.EMOTES_PER_ROOM},
                code="emote_limit",
            )
    taken = _("An emote with this name already exists here.")
    if Emote.objects.filter(room=room, name__iexact=name).exists():
        raise ValidationError({"name": taken}, code="emote_name_taken")
    emote = Emote(room=room, name=name, image=image, created_by=by)
    emote.full_clean(exclude=["room", "image", "created_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            emote.save()
    except IntegrityError as error:  # the same name uploaded twice at once
        raise ValidationError({"name": taken}, code="emote_name_taken") from error
    room_id = room.pk if room is not None else None
    transaction.on_commit(lambda: emotes_changed(room_id=room_id))
    return emote


@transaction.atomic
def emote_delete(*, emote: Emote, by: User) -> None:
    if not emote_manage_allowed(room=emote.room, user=by):
        raise PermissionDenied(_("Only the room's owner or staff may remove its emotes."))
    room_id, image = emote.room_id, emote.image
    emote.delete()
    # The file goes once the row is surely gone; a page still showing it only loses the picture.
    transaction.on_commit(lambda: (image.delete(save=False), emotes_changed(room_id=room_id)))


def emote_uses_flush() -> int:
    """Move the emote use counts the pipeline kept in Redis into the database; returns rooms handled.
    A count is taken from Redis only once it was added here, so a crash in between counts it again
    rather than losing it."""
    redis = redis_sync()
    handled = 0
    for raw_room in redis.smembers(keys.CHAT_EMOTE_USE_ROOMS):
        room_id = int(raw_room)
        key = keys.chat_emote_uses(room_id)
        counts = {int(emote_id): int(n) for emote_id, n in redis.hgetall(key).items() if int(n) > 0}
        known = set(Emote.objects.filter(pk__in=counts).values_list("pk", flat=True))
        if Room.objects.filter(pk=room_id).exists():
            with transaction.atomic():
                for emote_id in sorted(known):
                    use, _created = EmoteUse.objects.get_or_create(emote_id=emote_id, room_id=room_id)
                    EmoteUse.objects.filter(pk=use.pk).update(count=F("count") + counts[emote_id])
        with redis.pipeline(transaction=False) as pipe:
            for emote_id, n in counts.items():
                pipe.hincrby(key, emote_id, -n)
            pipe.execute()
        # Fields back at zero go; a count added meanwhile stays for the next flush.
        for emote_id in counts:
            redis.eval(_HDEL_IF_ZERO, 1, key, emote_id)
        if not redis.hlen(key):
            redis.srem(keys.CHAT_EMOTE_USE_ROOMS, room_id)
        handled += 1
    return handled


_HDEL_IF_ZERO = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""
