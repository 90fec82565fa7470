"""The room websocket's community additions end to end (real ASGI stack, Redis, PostgreSQL): the pin and
the emote map in the join batch, pin changes on resume, emote use counts, levels and level gates."""

import pytest
from asgiref.sync import sync_to_async

from chat import levels, services
from chat.models import EmoteUse, LevelProgress
from rooms.models import Room
from tests.chat.test_consumer import events_until, first
from tests.chat.test_emotes import emote_of
from tests.factories import LiveRoomFactory, RoomFactory, UserFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def room():
    return RoomFactory(comment_cooldown_ms=0)


async def test_the_join_batch_carries_the_pin_and_a_resume_gets_pin_changes(ws_open, room, mongo_archive):
    alice, bob = await sync_to_async(UserFactory)(), await sync_to_async(UserFactory)()
    sender = await ws_open(room.pk, user=alice)
    await sender.send_json_to({"type": "chat", "text": "pin this", "client_id": "p"})
    ack = await first(sender, "ack")
    owner = await sync_to_async(lambda: room.owner)()
    await sync_to_async(services.chat_message_pin)(room=room, message_id=ack["id"], by=owner)
    pin = await first(sender, "pin")
    assert pin["message"]["text"] == "pin this" and pin["message"]["id"] == ack["id"]

    joiner = await ws_open(room.pk, user=bob)
    by_type = {event["type"]: event for event in joiner.join["events"]}
    assert by_type["pin"]["message"]["text"] == "pin this"
    # A join gets messages and the present pin, never old pin events from the recent list.
    assert [event["type"] for event in joiner.join["events"]].count("pin") == 1

    await sync_to_async(services.chat_message_unpin)(room=room, by=owner)
    unpin = await first(sender, "unpin")
    resumer = await ws_open(room.pk, user=bob)
    assert "pin" not in {event["type"] for event in resumer.join["events"]}
    await resumer.send_json_to({"type": "resume", "after_seq": pin["seq"] - 1})
    resumed = await events_until(resumer, "unpin")
    assert [event["type"] for event in resumed if event["type"] in ("pin", "unpin")] == ["pin", "unpin"]
    assert resumed[-1]["seq"] == unpin["seq"]


async def test_the_join_batch_carries_the_emote_map_and_changes_reach_open_pages(ws_open, room):
    site = await sync_to_async(emote_of)(room=None, name="hype")
    socket = await ws_open(room.pk, user=await sync_to_async(UserFactory)())
    [emotes] = [event for event in socket.join["events"] if event["type"] == "emotes"]
    assert emotes["emotes"] == [{"id": site.pk, "name": "hype", "url": site.image.url, "scope": "site"}]

    owner = await sync_to_async(lambda: room.owner)()
    added = await sync_to_async(emote_of)(room=room, name="wave", by=owner)
    changed = await first(socket, "emotes")
    assert [(e["name"], e["scope"]) for e in changed["emotes"]] == [("hype", "site"), ("wave", "room")]
    assert changed["emotes"][1]["id"] == added.pk


async def test_emote_uses_are_counted_once_per_message_and_flushed_to_the_database(ws_open, room):
    owner = await sync_to_async(lambda: room.owner)()
    wave = await sync_to_async(emote_of)(room=room, name="wave", by=owner)
    site = await sync_to_async(emote_of)(room=None, name="hype")
    socket = await ws_open(room.pk, user=await sync_to_async(UserFactory)())
    texts = [":wave: :wave: hi :hype:", "again :wave:", ":nothing: here", "wave without colons"]
    for n, text in enumerate(texts):
        await socket.send_json_to({"type": "chat", "text": text, "client_id": f"e{n}"})
        await first(socket, "ack")
    # The same frame again (a replay) is not a second use.
    await socket.send_json_to({"type": "chat", "text": texts[0], "client_id": "e0"})
    await first(socket, "ack")
    assert await sync_to_async(services.emote_uses_flush)() == 1
    uses = await sync_to_async(lambda: dict(EmoteUse.objects.values_list("emote_id", "count")))()
    assert uses == {wave.pk: 2, site.pk: 1}
    # Flushed counts are gone from Redis: a second flush adds nothing.
    await sync_to_async(services.emote_uses_flush)()
    assert await sync_to_async(lambda: EmoteUse.objects.get(emote=wave).count)() == 2


async def test_messages_carry_the_authors_level(ws_open, room):
    veteran = await sync_to_async(UserFactory)(username="vet", display_name="Vet")
    await sync_to_async(type(veteran).objects.filter(pk=veteran.pk).update)(level=12)
    socket = await ws_open(room.pk, user=veteran)
    await socket.send_json_to({"type": "chat", "text": "hello", "client_id": "l"})
    message = await first(socket, "chat")
    assert message["user"] == {"username": "vet", "display_name": "Vet", "level": 12}


async def test_replayed_and_repeated_frames_count_one_chatting_minute(ws_open, room):
    user = await sync_to_async(UserFactory)()
    socket = await ws_open(room.pk, user=user)
    for _ in range(5):  # the same frame replayed
        await socket.send_json_to({"type": "chat", "text": "spam", "client_id": "same"})
        await first(socket, "ack")
    for n in range(5):  # new frames within the minute
        await socket.send_json_to({"type": "chat", "text": f"spam {n}", "client_id": f"new{n}"})
        await first(socket, "ack")
    await sync_to_async(levels.levels_update)()
    progress = await sync_to_async(LevelProgress.objects.get)(user=user)
    assert (progress.chat_minutes, progress.watch_minutes) == (1, 0)


async def test_watching_a_live_room_counts_one_minute_per_sample_however_many_sockets(ws_open):
    live = await sync_to_async(LiveRoomFactory)()
    other = await sync_to_async(LiveRoomFactory)()
    user = await sync_to_async(UserFactory)()
    for room_id in (live.pk, live.pk, other.pk):
        await ws_open(room_id, user=user)
    await sync_to_async(levels.levels_update)()
    await sync_to_async(levels.levels_update)()  # the same minute again: not counted twice
    progress = await sync_to_async(LevelProgress.objects.get)(user=user)
    assert progress.watch_minutes == 1


@pytest.mark.parametrize(
    ("frame", "allowed"),
    [
        ({"type": "danmaku", "text": "plain"}, True),
        ({"type": "danmaku", "text": "red", "color": "#ff0000"}, False),
        ({"type": "danmaku", "text": "top", "mode": "top"}, False),
        ({"type": "danmaku", "text": "ue commands too"}, False),
        ({"type": "chat", "text": "chat is not gated"}, True),
    ],
)
async def test_styled_danmaku_needs_the_rooms_level(ws_open, frame, allowed):
    gated = await sync_to_async(RoomFactory)(comment_cooldown_ms=0, danmaku_style_min_level=5)
    novice = await sync_to_async(UserFactory)()
    socket = await ws_open(gated.pk, user=novice)
    await socket.send_json_to({**frame, "client_id": "g"})
    answer = [
        e for e in await events_until(socket, "ack" if allowed else "error") if e["type"] in ("ack", "error")
    ]
    if allowed:
        assert answer[0]["type"] == "ack"
    else:
        assert (answer[0]["code"], answer[0]["level"], answer[0]["client_id"]) == ("level_required", 5, "g")


async def test_level_gates_let_levelled_users_moderators_and_the_owner_through(ws_open):
    gated = await sync_to_async(RoomFactory)(
        comment_cooldown_ms=0, slow_mode_seconds=1, slow_mode_min_level=3, danmaku_style_min_level=3
    )
    novice, moderator, levelled = [await sync_to_async(UserFactory)() for _ in range(3)]
    await sync_to_async(gated.moderators.add)(moderator)
    await sync_to_async(type(levelled).objects.filter(pk=levelled.pk).update)(level=3)
    owner = await sync_to_async(lambda: Room.objects.select_related("owner").get(pk=gated.pk).owner)()
    for user in (moderator, levelled, owner):
        socket = await ws_open(gated.pk, user=user)
        await socket.send_json_to({"type": "danmaku", "text": "ue red hi", "client_id": "ok"})
        assert (await first(socket, "ack"))["client_id"] == "ok"
    socket = await ws_open(gated.pk, user=novice)
    await socket.send_json_to({"type": "chat", "text": "let me in", "client_id": "no"})
    error = await first(socket, "error")
    assert (error["code"], error["level"]) == ("level_required", 3)
