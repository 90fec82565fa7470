"""The naive baseline of bench_chat_fanout: what a first Channels chat does, one group_send and one
websocket frame per message per viewer, on the project's channel layer. Not part of the site: only the
benchmark serves it (uvicorn bench.naive_app:application)."""

import json
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamlite.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "naive_room"


class NaiveRoomConsumer(AsyncWebsocketConsumer):
    seq = 0  # one server process in the benchmark, so a class counter numbers the room's messages

    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        payload = json.loads(text_data)
        NaiveRoomConsumer.seq += 1
        event = {"type": "chat", "id": self.seq, "seq": self.seq, "text": payload["text"], "at": time.time()}
        ack = {"type": "ack", "client_id": payload["client_id"], "id": self.seq, "seq": self.seq}
        await self.send(text_data=json.dumps({"type": "batch", "events": [ack]}))
        await self.channel_layer.group_send(GROUP, {"type": "chat.message", "event": event})

    async def chat_message(self, message):
        await self.send(text_data=json.dumps({"type": "batch", "events": [message["event"]]}))


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/rooms/<int:room_id>/", NaiveRoomConsumer.as_asgi())])}
)
