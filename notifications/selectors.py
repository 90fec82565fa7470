from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first, with what a list shows of actor, room and VOD."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("actor", "room", "vod")
        .order_by("-created_at", "-id")
    )
