"""Chat's reactions to the events of the apps below it (connected in ChatConfig.ready)."""

from django.dispatch import receiver

from accounts.signals import user_deactivated
from chat.hub import user_sockets_close
from chat.services import room_chat_rules_changed
from rooms import signals as room_signals


@receiver(user_deactivated, dispatch_uid="chat.user_deactivated")
def close_chat_sockets(sender, *, user_id: int, **kwargs):
    user_sockets_close(user_id=user_id)


@receiver(room_signals.room_chat_rules_changed, dispatch_uid="chat.rules_changed")
def forget_cached_rules(sender, *, room_id: int, **kwargs):
    room_chat_rules_changed(room_id)
