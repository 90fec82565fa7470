from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from accounts.models import User
from notifications.models import Notification
from rooms.models import Follow, Room
from streamlite.presence import members_present

# The presence scope of notification sockets: a user is online while one of theirs is open.
ONLINE_SCOPE = "notifications"


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first, with what a list shows of actor, room and VOD."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("actor", "room", "vod")
        .order_by("-created_at", "-id")
    )


def notifications_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def follows_of(*, user: User) -> QuerySet[Follow]:
    """Whom the user follows, streamers live now first, each with their rooms (live first) prefetched."""
    live_room = Room.objects.filter(owner=OuterRef("followed_id"), status=Room.Status.LIVE)
    rooms = Room.objects.select_related("owner", "category").order_by(
        "-status", "-viewer_count", "-created_at"
    )
    return (
        Follow.objects.filter(follower=user, followed__is_active=True)
        .select_related("followed")
        .annotate(is_live=Exists(live_room))
        .prefetch_related(Prefetch("followed__rooms", queryset=rooms))
        .order_by("-is_live", "-created_at", "-pk")
    )


def users_online(user_ids: Iterable[int]) -> list[int]:
    """The given users with a notification socket open; one Redis round trip however many are asked."""
    return [int(member) for member in members_present(ONLINE_SCOPE, map(str, user_ids))]
