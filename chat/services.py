from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.activity import activity_record
from accounts.models import ActivityLog, User
from chat.models import ChatBan
from chat.redis_sync import chat_redis
from chat.selectors import rules_cache_key
from rooms.models import Room


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
    chat_redis().delete(rules_cache_key(room_id))
