from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notifications import events
from notifications.selectors import ONLINE_SCOPE, notifications_unread_count
from streamlite.presence import presence_current

# Private-use close code: the client must log in; retrying with the same credentials is pointless.
CLOSE_UNAUTHENTICATED = 4401


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """A user's own channel: pushed notifications and the unread count, nothing is read from the client."""

    user_id: int | None = None

    async def connect(self):
        user = self.scope.get("user")
        # Accept first: a close before accepting becomes an HTTP 403 and the client never sees the code.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        await self.channel_layer.group_add(events.user_group_name(self.user_id), self.channel_name)
        await presence_current().join(ONLINE_SCOPE, str(self.user_id))
        count = await database_sync_to_async(notifications_unread_count)(user_id=self.user_id)
        await self.send_json(events.unread_frame(count))

    async def disconnect(self, code):
        if self.user_id is None:
            return
        await self.channel_layer.group_discard(events.user_group_name(self.user_id), self.channel_name)
        await presence_current().leave(ONLINE_SCOPE, str(self.user_id))

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Clients send nothing here (marking read goes through the pages and the API); ignore any frame."""

    async def notification_pushed(self, event):
        await self.send_json(events.notification_frame(event["notification"]))
        await self.send_json(events.unread_frame(event["unread"]))

    async def unread_changed(self, event):
        await self.send_json(events.unread_frame(event["unread"]))

    async def session_closed(self, event):
        """The account was deactivated: the socket it opened while active must not stay open."""
        await self.close(code=CLOSE_UNAUTHENTICATED)
