"""A deactivated account keeps no websocket it opened while it was active (issue 7's token rules)."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from notifications.consumers import CLOSE_UNAUTHENTICATED, NotificationConsumer
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


async def test_deactivating_a_user_closes_their_chat_and_notification_sockets(ws_open):
    room = await database_sync_to_async(RoomFactory)()
    carol, dave = await database_sync_to_async(UserFactory)(), await database_sync_to_async(UserFactory)()
    chat = await ws_open(room.pk, user=carol)
    bystander = await ws_open(room.pk, user=dave)
    notifications = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    notifications.scope["user"] = carol
    assert (await notifications.connect())[0]
    assert (await notifications.receive_json_from(timeout=3))["type"] == "unread"

    await sync_to_async(deactivate)(carol)

    assert (await chat.receive_output(timeout=3))["type"] == "websocket.close"
    assert await notifications.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }
    await bystander.send_json_to({"type": "chat", "text": "still here", "client_id": "1"})
    # The room's copy of the message may come before the ack (it is published before the ack is sent).
    events = (await bystander.receive_json_from(timeout=3))["events"]
    if not any(event["type"] == "ack" for event in events):
        events += (await bystander.receive_json_from(timeout=3))["events"]
    assert any(event["type"] == "ack" for event in events)
