from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from rooms import signals
from rooms.models import Category, Follow, Room, StreamKey
from streamlite.events import send_on_commit


@transaction.atomic
def room_create(*, owner: User, title: str, description: str = "", category: Category | None = None) -> Room:
    """Open a room with its first stream key, within the owner's room quota."""
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if Room.objects.filter(owner=owner).count() >= owner.room_quota:
        raise ValidationError(_("You already have as many rooms as you may have."), code="room_quota")
    room = Room(owner=owner, title=title, description=description, category=category)
    room.full_clean()
    room.save()
    StreamKey.objects.create(room=room)
    return room


@transaction.atomic
def stream_key_reset(*, room: Room, by: User | None = None) -> StreamKey:
    """Revoke the room's active key and issue a new one; the old key never works again."""
    revoked_ids = list(
        StreamKey.objects.filter(room=room, revoked_at__isnull=True).values_list("pk", flat=True)
    )
    StreamKey.objects.filter(pk__in=revoked_ids).update(revoked_at=timezone.now())
    key = StreamKey.objects.create(room=room)
    activity_record(action=ActivityLog.Action.STREAM_KEY_RESET, user=by, room_id=room.pk)
    for key_id in revoked_ids:
        send_on_commit(signals.stream_key_revoked, sender=StreamKey, stream_key_id=key_id)
    return key


def follow_create(*, follower: User, followed: User, notify: bool = True) -> tuple[Follow, bool]:
    """Follow a streamer; following twice keeps one follow. Returns (follow, created)."""
    if follower.pk == followed.pk:
        raise ValidationError(_("You cannot follow yourself."), code="self_follow")
    try:
        with transaction.atomic():
            follow, created = Follow.objects.get_or_create(
                follower=follower, followed=followed, defaults={"notify": notify}
            )
            if created:
                send_on_commit(signals.follow_created, sender=Follow, follow_id=follow.pk)
            return follow, created
    except IntegrityError:
        return Follow.objects.get(follower=follower, followed=followed), False


def follow_delete(*, follower: User, followed: User) -> None:
    Follow.objects.filter(follower=follower, followed=followed).delete()


FOLLOW_ALERT_FIELDS = frozenset({"notify", "email_live", "email_vod"})


def follow_alerts_set(*, follower: User, followed: User, alerts: dict[str, bool]) -> Follow | None:
    """Turn a follow's alerts (the bell, go-live and new-VOD e-mail) on or off; None when not following."""
    unknown = set(alerts) - FOLLOW_ALERT_FIELDS
    if unknown:
        raise ValueError(f"Not an alert: {sorted(unknown)}")
    follow = Follow.objects.filter(follower=follower, followed=followed).first()
    changed = [
        name for name, value in alerts.items() if follow is not None and getattr(follow, name) != value
    ]
    if changed:
        for name in changed:
            setattr(follow, name, alerts[name])
        follow.save(update_fields=changed)
    return follow


ROOM_EDITABLE_FIELDS = frozenset(
    {"title", "description", "category", "cover", "allow_comments", "clips_allowed", "ladder_enabled"}
)


@transaction.atomic
def room_update(*, room: Room, changes: dict) -> Room:
    """Edit what the owner may edit; status, keys and counts change only through their own services."""
    unknown = set(changes) - ROOM_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(room, name, value)
    room.full_clean()
    if changes:
        room.save(update_fields=[*changes, "updated_at"])
        # allow_comments is one of the chat rules the websocket reads from its cache.
        send_on_commit(signals.room_chat_rules_changed, sender=Room, room_id=room.pk)
    return room
