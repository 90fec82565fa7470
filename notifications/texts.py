"""The sentence of a notification, said in the language active where it is read.

A row keeps the sentence as written when it was sent (the API's ``message``, in the sender's language);
pages and the API say it again from the kind and the linked rows in the reader's language.
"""

from django.utils.translation import gettext as _

from accounts.models import User
from notifications.models import Notification
from rooms.models import Room
from vod.models import Vod


def notification_text(*, kind: str, actor: User | None, room: Room | None, vod: Vod | None) -> str:
    """The sentence for a notification of this kind, or "" when its linked rows are gone."""
    name = actor.shown_name if actor else ""
    if kind == Notification.Kind.LIVE_STARTED and actor and room:
        return _("%(name)s is live: %(title)s") % {"name": name, "title": room.title}
    if kind == Notification.Kind.NEW_VOD and actor and vod:
        return _("New video from %(name)s: %(title)s") % {"name": name, "title": vod.title}
    if kind == Notification.Kind.NEW_FOLLOWER and actor:
        return _("%(name)s followed you.") % {"name": name}
    return ""


def notification_text_of(notification: Notification) -> str:
    """What the reader sees: the sentence in their language, the stored one for system messages."""
    return (
        notification_text(
            kind=notification.kind, actor=notification.actor, room=notification.room, vod=notification.vod
        )
        or notification.message
    )
