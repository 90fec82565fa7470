"""The messages of /ws/notifications/: channel-layer events and the frames the consumer sends."""

from notifications.models import Notification
from notifications.serializers import NotificationOutputSerializer


def user_group_name(user_id: int) -> str:
    return f"user_{user_id}"


def notification_item(notification: Notification) -> dict:
    """A notification in the API's shape (DESIGN §3), as pushes carry it."""
    return dict(NotificationOutputSerializer(notification).data)


def notification_pushed(*, item: dict, unread: int) -> dict:
    """A new notification for the group's user, with their unread count after it."""
    return {"type": "notification.pushed", "notification": item, "unread": unread}


def unread_changed(*, unread: int) -> dict:
    return {"type": "unread.changed", "unread": unread}


def notification_frame(item: dict) -> dict:
    return {"type": "notification", **item}


def unread_frame(count: int) -> dict:
    return {"type": "unread", "count": count}
