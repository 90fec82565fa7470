"""The room websocket end to end: real ASGI stack (origin check, auth), real Redis, real PostgreSQL."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chat.models import ChatBan
from rooms.models import Room
from streamlite.asgi import application
from tests.factories import LiveRoomFactory, RoomFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def room():
    return RoomFactory(comment_cooldown_ms=0)


@pytest.fixture
def live_room():
    return LiveRoomFactory(comment_cooldown_ms=0)


@pytest.fixture
def alice():
    return UserFactory(username="alice", display_name="Alice")


@pytest.fixture
def bob():
    return UserFactory(username="bob")


async def events_until(communicator, wanted, timeout=3.0):
    """Events received until one of type ``wanted`` (inclusive); fails after ``timeout``."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await communicator.receive_json_from(timeout=timeout)
            assert frame["type"] == "batch"
            seen.extend(frame["events"])
            if any(event["type"] == wanted for event in frame["events"]):
                return seen


async def first(communicator, wanted, timeout=3.0):
    return next(e for e in await events_until(communicator, wanted, timeout) if e["type"] == wanted)


async def test_joining_gets_recent_messages_viewers_and_room_state(ws_open, live_room, alice, bob):
    sender = await ws_open(live_room.pk, user=alice)
    await sender.send_json_to({"type": "chat", "text": "first", "client_id": "c1"})
    await first(sender, "chat")
    joiner = await ws_open(live_room.pk, user=bob)
    by_type = {event["type"]: event for event in joiner.join["events"]}
    assert by_type["chat"]["text"] == "first"
    assert by_type["viewers"]["count"] == 2
    assert by_type["room_state"]["status"] == "live"


async def test_chat_reaches_the_room_with_seq_and_the_sender_gets_an_ack(ws_open, room, alice, bob):
    sender = await ws_open(room.pk, user=alice)
    reader = await ws_open(room.pk, user=bob)
    await sender.send_json_to({"type": "chat", "text": "hello", "client_id": "c1"})
    ack = await first(sender, "ack")
    message = await first(reader, "chat")
    assert message["text"] == "hello"
    assert message["user"] == {"username": "alice", "display_name": "Alice", "level": 1}
    assert (ack["client_id"], ack["id"], ack["seq"]) == ("c1", message["id"], message["seq"])
    assert "client_id" not in message


async def test_danmaku_carries_style_lane_and_vpos(ws_open, live_room, alice, bob):
    sender = await ws_open(live_room.pk, user=alice)
    reader = await ws_open(live_room.pk, user=bob)
    await sender.send_json_to({"type": "danmaku", "text": "ue red big wow", "client_id": "d1"})
    danmaku = await first(reader, "danmaku")
    assert (danmaku["text"], danmaku["mode"], danmaku["color"], danmaku["size"]) == (
        "wow",
        "top",
        "#ff0000",
        "big",
    )
    assert danmaku["lane"] == 0
    assert danmaku["vpos_ms"] > 0
    assert isinstance(danmaku["seq"], int)


async def test_a_danmaku_is_archived_as_the_room_got_it(ws_open, mongo_archive, live_room, alice, bob):
    from chat.archive import outbox_flush

    sender = await ws_open(live_room.pk, user=alice)
    reader = await ws_open(live_room.pk, user=bob)
    await sender.send_json_to({"type": "danmaku", "text": "shita <b>x</b>", "client_id": "d1"})
    await first(sender, "ack")
    await sender.send_json_to({"type": "chat", "text": "plain", "client_id": "c1"})
    ack = await first(sender, "ack")
    shown = [e for e in await events_until(reader, "chat") if e["type"] in ("danmaku", "chat")]
    await sync_to_async(outbox_flush)(consumer="test")

    archived = {doc["_id"]: doc for doc in mongo_archive.messages.find()}
    assert [archived[e["id"]]["text"] for e in shown] == ["<b>x</b>", "plain"]
    danmaku, chat = (archived[e["id"]] for e in shown)
    assert (danmaku["kind"], danmaku["mode"], danmaku["lane"], danmaku["vpos_ms"]) == (
        "danmaku", "bottom", shown[0]["lane"], shown[0]["vpos_ms"]
    )  # fmt: skip
    assert (chat["kind"], chat["lane"], chat["client_id"], chat["_id"]) == ("chat", None, "c1", ack["id"])
    stream = await sync_to_async(live_room.streams.get)()
    assert danmaku["stream"] == chat["stream"] == stream.pk


async def test_markup_is_delivered_as_the_same_plain_text(ws_open, room, alice, bob):
    sender = await ws_open(room.pk, user=alice)
    reader = await ws_open(room.pk, user=bob)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>&amp;'
    await sender.send_json_to({"type": "chat", "text": payload, "client_id": "x"})
    assert (await first(reader, "chat"))["text"] == payload


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid"),
        (json.dumps({"type": "chat", "text": "a" * 2100}), "invalid"),  # over 2 KB
        (json.dumps({"type": "chat", "text": "a" * 201}), "too_long"),
        (json.dumps({"type": "chat", "text": "   "}), "invalid"),
        (json.dumps({"type": "danmaku", "text": "hi", "color": "#zzzzzz"}), "invalid"),
        (json.dumps({"type": "danmaku", "text": "hi", "mode": "diagonal"}), "invalid"),
        (json.dumps({"type": "danmaku", "text": "hi", "size": "huge"}), "invalid"),
        (json.dumps({"type": "shout", "text": "hi"}), "invalid"),
        (json.dumps(["chat"]), "invalid"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_survives(ws_open, room, alice, frame, code):
    socket = await ws_open(room.pk, user=alice)
    await socket.send_to(text_data=frame)
    error = await first(socket, "error")
    assert error["code"] == code
    assert error["message"]
    await socket.send_json_to({"type": "chat", "text": "still here", "client_id": "ok"})
    assert (await first(socket, "ack"))["client_id"] == "ok"


async def test_binary_frames_are_invalid(ws_open, room, alice):
    socket = await ws_open(room.pk, user=alice)
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await first(socket, "error"))["code"] == "invalid"


async def test_too_fast_is_rate_limited_with_a_retry_after(ws_open, alice):
    slow_room = await sync_to_async(RoomFactory)(comment_cooldown_ms=5000)
    socket = await ws_open(slow_room.pk, user=alice)
    await socket.send_json_to({"type": "chat", "text": "one", "client_id": "1"})
    await first(socket, "ack")
    await socket.send_json_to({"type": "chat", "text": "two", "client_id": "2"})
    error = await first(socket, "error")
    assert error["code"] == "rate_limited"
    assert 4000 < error["retry_after_ms"] <= 5000
    assert error["client_id"] == "2"


async def test_a_rate_limited_message_resent_after_the_wait_is_taken_with_the_next_seq(ws_open, alice):
    # Admission is one Redis script: a refused message neither holds its client id nor uses up a seq.
    slow_room = await sync_to_async(RoomFactory)(comment_cooldown_ms=300)
    socket = await ws_open(slow_room.pk, user=alice)
    await socket.send_json_to({"type": "chat", "text": "one", "client_id": "1"})
    first_ack = await first(socket, "ack")
    await socket.send_json_to({"type": "chat", "text": "two", "client_id": "2"})
    error = await first(socket, "error")
    assert error["code"] == "rate_limited"
    await asyncio.sleep(error["retry_after_ms"] / 1000 + 0.05)
    await socket.send_json_to({"type": "chat", "text": "two", "client_id": "2"})
    ack = await first(socket, "ack")
    assert ack["client_id"] == "2"
    assert (ack["id"], ack["seq"]) == (first_ack["id"] + 1, first_ack["seq"] + 1)


async def test_slow_mode_applies_but_not_to_the_owner(ws_open, alice):
    slow_room = await sync_to_async(RoomFactory)(comment_cooldown_ms=0, slow_mode_seconds=30)
    owner = await sync_to_async(lambda: slow_room.owner)()
    viewer = await ws_open(slow_room.pk, user=alice)
    owner_socket = await ws_open(slow_room.pk, user=owner)
    for n in range(2):
        await viewer.send_json_to({"type": "chat", "text": "hi", "client_id": f"v{n}"})
        await owner_socket.send_json_to({"type": "chat", "text": "hi", "client_id": f"o{n}"})
        await first(owner_socket, "ack")
    error = await first(viewer, "error")
    assert error["code"] == "rate_limited"
    assert error["retry_after_ms"] > 25_000


async def test_a_banned_user_gets_banned(ws_open, room, alice):
    await sync_to_async(ChatBan.objects.create)(user=alice, room=room)
    socket = await ws_open(room.pk, user=alice)
    await socket.send_json_to({"type": "chat", "text": "hi", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "banned"


async def test_a_sitewide_ban_bites_in_every_room(ws_open, room, alice):
    await sync_to_async(ChatBan.objects.create)(user=alice, room=None)
    socket = await ws_open(room.pk, user=alice)
    await socket.send_json_to({"type": "danmaku", "text": "hi", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "banned"


async def test_comments_off_refuses_messages(ws_open, alice):
    quiet = await sync_to_async(RoomFactory)(allow_comments=False)
    socket = await ws_open(quiet.pk, user=alice)
    await socket.send_json_to({"type": "chat", "text": "hi", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "comments_off"


async def test_blocked_words_are_refused(ws_open, alice):
    filtered = await sync_to_async(RoomFactory)(comment_cooldown_ms=0, blocked_words="spoiler")
    socket = await ws_open(filtered.pk, user=alice)
    await socket.send_json_to({"type": "chat", "text": "big SPOILER ahead", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "invalid"


async def test_anonymous_viewers_read_but_must_log_in_to_post(ws_open, room, alice):
    anonymous = await ws_open(room.pk)
    sender = await ws_open(room.pk, user=alice)
    await anonymous.send_json_to({"type": "chat", "text": "hi", "client_id": "1"})
    assert (await first(anonymous, "error"))["code"] == "auth_required"
    await sender.send_json_to({"type": "chat", "text": "visible", "client_id": "2"})
    assert (await first(anonymous, "chat"))["text"] == "visible"


@pytest.mark.parametrize("token", [b"Bearer not-a-jwt", b"Bearer ", b"Basic abc"])
async def test_a_bad_token_leaves_the_socket_anonymous(ws_open, room, token):
    socket = await ws_open(room.pk, headers=[(b"authorization", token)])
    await socket.send_json_to({"type": "chat", "text": "hi", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "auth_required"


async def test_an_inactive_users_token_is_anonymous(ws_open, room):
    gone = await sync_to_async(UserFactory)(is_active=False)
    socket = await ws_open(room.pk, user=gone)
    await socket.send_json_to({"type": "chat", "text": "hi", "client_id": "1"})
    assert (await first(socket, "error"))["code"] == "auth_required"


async def test_the_session_cookie_logs_a_browser_in(ws_open, room, alice):
    from django.conf import settings
    from django.test import Client

    client = Client()
    await sync_to_async(client.force_login)(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = await ws_open(room.pk, headers=[(b"cookie", cookie.encode())])
    await socket.send_json_to({"type": "chat", "text": "from a browser", "client_id": "1"})
    assert (await first(socket, "ack"))["client_id"] == "1"


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_a_foreign_or_missing_origin_is_refused(chat_hub, room, origin):
    headers = [(b"origin", origin)] if origin else []
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.pk}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert not connected


async def test_an_unknown_room_closes_with_4404(ws_open, room):
    socket = await ws_open(room.pk + 1000, expect_join=False)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_simultaneous_danmaku_get_different_lanes(ws_open, room):
    users = await sync_to_async(lambda: [UserFactory() for _ in range(6)])()
    sockets = [await ws_open(room.pk, user=user) for user in users]
    await asyncio.gather(
        *(
            socket.send_json_to({"type": "danmaku", "text": f"lane {n}", "client_id": str(n)})
            for n, socket in enumerate(sockets)
        )
    )
    danmaku = []
    while len(danmaku) < len(sockets):
        danmaku += [e for e in await events_until(sockets[0], "danmaku") if e["type"] == "danmaku"]
    assert len({e["lane"] for e in danmaku}) == len(sockets)


async def test_resume_fills_the_gap_without_duplicates(ws_open, room, alice, bob):
    """A client reconnecting asks for what came after the last seq it had: what its new join batch already
    carries is not sent again; the next message comes once."""
    sender = await ws_open(room.pk, user=alice)
    acks = []
    for n in range(5):
        await sender.send_json_to({"type": "chat", "text": f"m{n}", "client_id": str(n)})
        acks.append(await first(sender, "ack"))
    reader = await ws_open(room.pk, user=bob)
    assert [e["text"] for e in reader.join["events"] if e["type"] == "chat"] == [f"m{n}" for n in range(5)]
    await reader.send_json_to({"type": "resume", "after_seq": acks[1]["seq"]})
    await sender.send_json_to({"type": "chat", "text": "m5", "client_id": "5"})
    seen = []
    async with asyncio.timeout(5):
        while not any(e.get("text") == "m5" for e in seen):
            seen += (await reader.receive_json_from(timeout=5))["events"]
    assert [e["text"] for e in seen if e["type"] == "chat"] == ["m5"]


async def test_resume_delivers_deletions_the_join_batch_hides_deleted_messages(
    ws_open, mongo_archive, room, alice, bob
):
    from chat.services import chat_message_delete

    sender = await ws_open(room.pk, user=alice)
    acks = []
    for n in range(3):
        await sender.send_json_to({"type": "chat", "text": f"m{n}", "client_id": str(n)})
        acks.append(await first(sender, "ack"))
    reader = await ws_open(room.pk, user=bob)
    last_seq = max(e["seq"] for e in reader.join["events"] if "seq" in e)
    await reader.disconnect()  # bob's connection drops; meanwhile m1 is deleted and m3 sent
    await database_sync_to_async(chat_message_delete)(room=room, message_id=acks[1]["id"], by=room.owner)
    deleted = await first(sender, "delete")
    await sender.send_json_to({"type": "chat", "text": "m3", "client_id": "3"})
    seen = await events_until(sender, "chat")
    while not any(e.get("text") == "m3" for e in seen):
        seen += await events_until(sender, "chat")
    sent = next(e for e in seen if e.get("text") == "m3")

    back = await ws_open(room.pk, user=bob)
    join_types = [e["type"] for e in back.join["events"]]
    assert join_types == ["chat", "chat", "chat", "viewers", "room_state", "emotes"]
    assert [e["text"] for e in back.join["events"][:3]] == ["m0", "m2", "m3"]
    await back.send_json_to({"type": "resume", "after_seq": last_seq})
    async with asyncio.timeout(3):
        while (frame := await back.receive_json_from(timeout=3))["events"][0]["type"] == "viewers":
            pass  # a presence beat may come in between
    # m3 came in the join batch: the resume adds only the deletion the join batch left out.
    assert sent["seq"] > deleted["seq"]
    assert [(e["type"], e["seq"]) for e in frame["events"]] == [("delete", deleted["seq"])]
    assert frame["events"][0]["id"] == acks[1]["id"]


async def test_a_resent_client_id_is_taken_once_and_acked_the_same(ws_open, room, alice, bob):
    sender = await ws_open(room.pk, user=alice)
    reader = await ws_open(room.pk, user=bob)
    await sender.send_json_to({"type": "chat", "text": "once", "client_id": "same"})
    first_ack = await first(sender, "ack")
    again = await ws_open(room.pk, user=alice)  # the reconnect resends what it had not seen acked
    await again.send_json_to({"type": "chat", "text": "once", "client_id": "same"})
    assert await first(again, "ack") == first_ack
    await again.send_json_to({"type": "chat", "text": "next", "client_id": "other"})
    events = await events_until(reader, "chat")
    while not any(e.get("text") == "next" for e in events):
        events += await events_until(reader, "chat")
    assert [e["text"] for e in events if e["type"] == "chat"] == ["once", "next"]


async def test_two_hubs_deliver_each_others_events(ws_open, room, alice, bob):
    """Two web processes behind one Redis: a socket on hub B reads what a socket on hub A sent."""
    from channels.routing import URLRouter
    from django.urls import path

    from chat.consumers import RoomConsumer
    from chat.hub import Hub
    from streamlite.ws_auth import websocket_auth_stack

    other_hub = Hub()
    other_process = websocket_auth_stack(
        URLRouter([path("ws/rooms/<int:room_id>/", RoomConsumer.as_asgi(hub=other_hub))])
    )
    try:
        on_a = await ws_open(room.pk, user=alice)
        on_b = await ws_open(room.pk, user=bob, app=other_process)
        await on_a.send_json_to({"type": "chat", "text": "from A", "client_id": "a"})
        assert (await first(on_b, "chat"))["text"] == "from A"
        await on_b.send_json_to({"type": "danmaku", "text": "from B", "client_id": "b"})
        assert (await first(on_a, "danmaku"))["text"] == "from B"
        await on_b.disconnect()
    finally:
        await other_hub.stop()


async def test_room_state_broadcast_reaches_the_sockets(ws_open, room):
    from streams.services import room_state_broadcast

    socket = await ws_open(room.pk)
    await sync_to_async(room_state_broadcast)(room_id=room.pk, status="live")
    state = await first(socket, "room_state")
    assert state["status"] == "live"
    assert isinstance(state["seq"], int)


async def test_a_ban_order_closes_the_users_sockets(ws_open, room, alice, bob):
    from chat.hub import user_sockets_close

    banned = await ws_open(room.pk, user=alice)
    other = await ws_open(room.pk, user=bob)
    await sync_to_async(user_sockets_close)(user_id=alice.pk, room_id=room.pk)
    assert await banned.receive_output(timeout=3) == {"type": "websocket.close", "code": 4003}
    await other.send_json_to({"type": "chat", "text": "still open", "client_id": "1"})
    assert (await first(other, "ack"))["client_id"] == "1"


async def test_viewer_count_is_published_and_stored(ws_open, chat_hub, room, alice):
    from chat.presence import viewers_publish_if_changed

    watcher = await ws_open(room.pk)
    await ws_open(room.pk, user=alice)
    await viewers_publish_if_changed(chat_hub, room_id=room.pk)
    assert (await first(watcher, "viewers"))["count"] == 2
    assert (await sync_to_async(Room.objects.get)(pk=room.pk)).viewer_count == 2


async def test_a_viewer_with_several_tabs_counts_once(ws_open, chat_hub, room, alice):
    from chat.presence import viewers_publish_if_changed

    watcher = await ws_open(room.pk)
    tabs = [await ws_open(room.pk, user=alice) for _ in range(6)]
    await viewers_publish_if_changed(chat_hub, room_id=room.pk)
    assert (await first(watcher, "viewers"))["count"] == 2
    for tab in tabs[:5]:
        await tab.disconnect()
    await viewers_publish_if_changed(chat_hub, room_id=room.pk, exclusive=False)
    assert (await sync_to_async(Room.objects.get)(pk=room.pk)).viewer_count == 2  # one tab still open
    await tabs[5].disconnect()
    await viewers_publish_if_changed(chat_hub, room_id=room.pk, exclusive=False)
    assert (await first(watcher, "viewers"))["count"] == 1


async def test_live_stream_stats_reach_the_room_record(ws_open, live_room, alice, bob):
    from streams.models import RoomRecord
    from streams.services import room_records_stats_save

    sender = await ws_open(live_room.pk, user=alice)
    await ws_open(live_room.pk, user=bob)
    for n in range(3):
        await sender.send_json_to({"type": "chat", "text": "hi", "client_id": str(n)})
        await first(sender, "ack")
    await sync_to_async(room_records_stats_save)()
    record = await sync_to_async(RoomRecord.objects.get)(room=live_room)
    assert (record.total_comments, record.peak_viewers, record.unique_viewers) == (3, 2, 2)


async def test_viewers_whose_names_hash_alike_still_count_as_two_unique_viewers(ws_open, live_room):
    from streams.models import RoomRecord
    from streams.services import room_records_stats_save

    # "u:1966" and "u:1967" fall in one HyperLogLog register: an estimate would count one viewer.
    for pk in (1966, 1967):
        await ws_open(live_room.pk, user=await sync_to_async(UserFactory)(pk=pk))
    await sync_to_async(room_records_stats_save)()
    record = await sync_to_async(RoomRecord.objects.get)(room=live_room)
    assert (record.peak_viewers, record.unique_viewers) == (2, 2)


@pytest.mark.parametrize("frame", ["[" * 2000, '{"type": "chat", "text": ' + "[" * 100 + "]" * 100 + "}"])
async def test_deeply_nested_frame_is_invalid_and_the_socket_stays(ws_open, room, alice, frame):
    sender = await ws_open(room.pk, user=alice)

    await sender.send_to(text_data=frame)
    error = await first(sender, "error")
    await sender.send_json_to({"type": "chat", "text": "still here", "client_id": "c1"})

    assert error["code"] == "invalid"
    assert (await first(sender, "ack"))["client_id"] == "c1"


async def test_lone_surrogate_is_invalid_without_burning_a_seq(ws_open, room, alice):
    sender = await ws_open(room.pk, user=alice)
    await sender.send_json_to({"type": "chat", "text": "one", "client_id": "c1"})
    before = await first(sender, "ack")

    await sender.send_to(text_data='{"type": "chat", "text": "sp\\ud800am", "client_id": "c2"}')
    error = await first(sender, "error")
    await sender.send_json_to({"type": "chat", "text": "two", "client_id": "c3"})
    after = await first(sender, "ack")

    assert error["code"] == "invalid"
    assert after["seq"] == before["seq"] + 1


@pytest.mark.parametrize(
    "origin",
    [
        b"http://testserver:9999",
        b"https://testserver",
        b"http://127.0.0.1:8000",
        b"null",
        b"http://evil.example",
    ],
)
async def test_an_origin_differing_in_scheme_host_or_port_is_refused_even_with_a_session(
    chat_hub, room, alice, origin
):
    from django.conf import settings
    from django.test import Client

    client = Client()
    await sync_to_async(client.force_login)(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"origin", origin), (b"host", b"testserver"), (b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.pk}/", headers=headers)

    connected, _ = await communicator.connect(timeout=5)

    assert not connected


async def test_a_trusted_origin_from_the_settings_is_accepted(chat_hub, room, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://stream.example.com"]
    headers = [(b"origin", b"https://stream.example.com"), (b"host", b"internal:8000")]
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.pk}/", headers=headers)

    connected, _ = await communicator.connect(timeout=5)

    assert connected
    await communicator.disconnect()


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u00ad", " \u200d\ufeff "])
async def test_a_message_of_only_invisible_characters_is_refused(ws_open, room, alice, text):
    sender = await ws_open(room.pk, user=alice)

    await sender.send_json_to({"type": "chat", "text": text, "client_id": "c1"})

    assert (await first(sender, "error"))["code"] == "invalid"
