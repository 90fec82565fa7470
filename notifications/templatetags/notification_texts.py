from django import template

from notifications.models import Notification
from notifications.texts import notification_text_of

register = template.Library()


@register.filter
def notification_text(notification: Notification) -> str:
    """The notification's sentence in the reader's language (see notifications.texts)."""
    return notification_text_of(notification)
