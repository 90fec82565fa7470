import pytest
import pytest_asyncio

from streamlite.redis import keys, redis_sync

ORIGIN = (b"origin", b"http://testserver")
# Browsers send both: the origin check compares the Origin with the site's own (scheme, Host).
HOST = (b"host", b"testserver")


@pytest.fixture
def chat_redis_flushed():
    """An empty Redis database, so seq, recent lists, rate limits and lanes start from nothing."""

    redis_sync().flushdb()


@pytest_asyncio.fixture
async def chat_hub(chat_redis_flushed):
    """This test's per-process hub (one per event loop), stopped afterwards."""
    from chat.hub import hub_current

    hub = hub_current()
    yield hub
    await hub.stop()


@pytest_asyncio.fixture
async def ws_open(chat_hub):
    """Open a room websocket through the real ASGI stack: ``await ws_open(room_id, user=..., headers=...)``
    (a user is logged in with a Bearer access token); every socket is closed after the test."""
    from channels.testing import WebsocketCommunicator
    from rest_framework_simplejwt.tokens import AccessToken

    from streamlite.asgi import application

    opened = []

    async def open_socket(room_id, *, user=None, headers=None, app=None, expect_join=True):
        all_headers = [ORIGIN, HOST, *(headers or [])]
        if user is not None:
            all_headers.append((b"authorization", f"Bearer {AccessToken.for_user(user)}".encode()))
        communicator = WebsocketCommunicator(app or application, f"/ws/rooms/{room_id}/", headers=all_headers)
        connected, code = await communicator.connect(timeout=5)
        assert connected, code
        opened.append(communicator)
        if expect_join:
            communicator.join = await communicator.receive_json_from(timeout=5)
        return communicator

    yield open_socket
    for communicator in opened:
        await communicator.disconnect(timeout=5)


@pytest.fixture
def mongo_archive(settings):
    """A MongoDB database of this test's own (dropped afterwards), so archives never mix between tests."""
    from uuid import uuid4

    from streamlite.mongo import mongo_client, mongo_db

    settings.MONGO_DB = f"test_{uuid4().hex}"
    yield mongo_db()
    mongo_client().drop_database(settings.MONGO_DB)


@pytest.fixture
def outbox_add(chat_redis_flushed):
    """XADD a message document to the outbox as the pipeline does: ``outbox_add(room_id=..., text=...)``
    returns the document; its id comes from chat:next_id like a real message's."""
    import json

    from django.utils import timezone

    def add(
        *, room_id: int, text: str = "hello", user_id: int = 1, username: str = "viewer", **extra
    ) -> dict:
        client = redis_sync()
        doc = {
            "_id": client.incr(keys.CHAT_NEXT_ID),
            "room": room_id,
            "stream": None,
            "user": user_id,
            "username": username,
            "display_name": username.title(),
            "text": text,
            "kind": "chat",
            "mode": None,
            "color": None,
            "size": None,
            "lane": None,
            "vpos_ms": None,
            "created_at": timezone.now().isoformat(),
            "client_id": f"c{text}",
            "deleted": False,
            **extra,
        }
        client.xadd("chat:outbox", {"doc": json.dumps(doc)})
        return doc

    return add
