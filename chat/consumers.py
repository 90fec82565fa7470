"""The room websocket: authenticate (done by streamlite.ws_auth), join the room's hub, send the join batch,
then hand every incoming frame to chat.pipeline.frame_handle."""

import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from redis.exceptions import RedisError

from chat import events as chat_events
from chat import pipeline, presence
from chat.hub import Frame, Hub, Socket, hub_current
from chat.selectors import emote_map, room_pinned_message
from chat.wire import wire_of
from rooms.models import Room

logger = logging.getLogger(__name__)

CLOSE_NO_ROOM = 4404
# Redis unreachable (restarting): the client reconnects with backoff, resumes by seq and resends what was
# not acked, which the dedupe by client_id takes once.
CLOSE_TRY_LATER = 1013


def _room_join_state(room_id: int) -> tuple[str | None, dict | None, list[dict]]:
    """The room's status (None: no such room), its pinned message and its emote map, for the join batch."""
    status = Room.objects.filter(pk=room_id).values_list("status", flat=True).first()
    if status is None:
        return None, None, []
    return status, room_pinned_message(room_id=room_id), emote_map(room_id=room_id)


class RoomConsumer(AsyncWebsocketConsumer):
    # The hub delivers room frames (one Redis subscription per process); a channel-layer channel per socket
    # would only cost a Redis round trip per connection, so this consumer has none. An alias that is not
    # configured makes channels skip it.
    channel_layer_alias = "chat-hub-only"
    # The process's hub unless as_asgi(hub=...) names another (two hubs in one loop act as two nodes).
    hub: Hub | None = None

    async def connect(self) -> None:
        self.socket = None
        self.viewer = None
        self.room_id = int(self.scope["url_route"]["kwargs"]["room_id"])
        await self.accept()
        try:
            status, pinned, emotes = await database_sync_to_async(_room_join_state)(self.room_id)
        except RedisError:
            logger.warning("chat socket refused: Redis unreachable")
            await self.close(code=CLOSE_TRY_LATER)
            return
        if status is None:
            await self.close(code=CLOSE_NO_ROOM)
            return
        user = self.scope.get("user") or AnonymousUser()
        if user.is_authenticated:
            self.sender = pipeline.Sender(
                room_id=self.room_id,
                user_id=user.pk,
                username=user.username,
                display_name=user.display_name or user.username,
                is_staff=user.is_staff,
                level=user.level,
            )
        else:
            self.sender = pipeline.Sender(room_id=self.room_id, user_id=None)
        self.hub = self.hub or hub_current()
        # Held until the join batch is in front of its queue: subscribed first, then the snapshot read, so
        # an event in between is in both, and the socket sends it once (by seq) rather than never.
        self.socket = Socket(
            send=self._frame_send,
            close=lambda code: self.close(code=code),
            user_id=self.sender.user_id,
            held=True,
            wire=wire_of(self.base_send),
        )
        try:
            await self.hub.join(room_id=self.room_id, socket=self.socket)
            self.viewer = presence.viewer_of(
                user=user,
                session_key=getattr(self.scope.get("session"), "session_key", None),
                address=(self.scope.get("client") or ("?", 0))[0],
            )
            viewers = await presence.viewer_join(self.hub, room_id=self.room_id, viewer=self.viewer)
            recent, covered = await pipeline.join_events(hub=self.hub, room_id=self.room_id)
        except RedisError:
            logger.warning("chat socket refused: Redis unreachable")
            self.socket.kill(CLOSE_TRY_LATER)
            return
        snapshot = [
            *recent,
            chat_events.viewers_event(count=viewers),
            chat_events.room_state_event(status=status),
            chat_events.emotes_event(emotes=emotes),
            *([chat_events.pin_event(message=pinned)] if pinned is not None else []),
        ]
        join = Frame.of(snapshot)
        join.last = max(join.last, covered)
        self.socket.open(join)

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message, a thread hop per chat frame;
        # this consumer reaches the database only through database_sync_to_async, which does it itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def _frame_send(self, frame: str) -> None:
        # Straight to the ASGI send: the consumer's own send() adds two coroutine calls per socket and
        # frame, and the hub writes every frame to every socket of the room.
        await self.base_send({"type": "websocket.send", "text": frame})

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.socket is None or self.socket.closed:
            return
        try:
            answers = await pipeline.frame_handle(hub=self.hub, sender=self.sender, text=text_data)
        except RedisError:
            logger.warning("chat frame not handled: Redis unreachable")
            self.socket.kill(CLOSE_TRY_LATER)
            return
        if answers:
            self.socket.push(Frame.of(answers, resume=True))

    async def disconnect(self, code) -> None:
        if getattr(self, "socket", None) is None:
            return
        room_left = await self.hub.leave(room_id=self.room_id, socket=self.socket)
        if getattr(self, "viewer", None) is None:
            return
        try:
            await presence.viewer_leave(
                self.hub,
                room_id=self.room_id,
                viewer=self.viewer,
                joined_at=self.socket.joined_at,
                room_left=room_left,
            )
        except RedisError:
            # Its presence entry is no longer beaten, so it goes stale and stops counting by itself.
            logger.warning("chat viewer leave not recorded: Redis unreachable")
