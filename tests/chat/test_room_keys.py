"""A room's chat keys share a Redis Cluster hash slot, and message ids stay unique site-wide though each room
numbers its own (tests/e2e/test_redis_cluster.py runs them on a real cluster)."""

import importlib

import pytest
from redis.cluster import key_slot

from chat.pipeline import ID_BLOCK
from streamlite.redis import keys, redis_sync
from tests.chat.test_consumer import first
from tests.factories import RoomFactory, UserFactory


def room_keys(room_id: int) -> list[str]:
    return [
        keys.chat_seq(room_id),
        keys.chat_recent(room_id),
        keys.chat_frames(room_id),
        keys.chat_ids(room_id),
        keys.chat_rate(room_id, 3),
        keys.chat_dedupe(room_id, 3, "client-{x}"),
        keys.chat_lanes(room_id, "top"),
    ]


def test_a_rooms_keys_and_channel_hash_to_one_slot_and_rooms_to_many():
    for room_id in (1, 7, 12345):
        assert len({key_slot(key.encode()) for key in room_keys(room_id)}) == 1
    assert len({key_slot(keys.chat_seq(room_id).encode()) for room_id in range(1, 51)}) == 50
    assert keys.chat_frames_room(keys.chat_frames(12345)) == 12345


@pytest.fixture
def two_rooms_and_alice():
    return [RoomFactory(comment_cooldown_ms=0) for _ in range(2)], UserFactory()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_ids_rise_within_each_room_and_never_repeat_across_rooms(ws_open, two_rooms_and_alice):
    rooms, alice = two_rooms_and_alice
    sockets = [await ws_open(room.pk, user=alice) for room in rooms]
    ids: dict[int, list[int]] = {room.pk: [] for room in rooms}
    for number in range(3):
        for room, socket in zip(rooms, sockets, strict=True):
            await socket.send_json_to({"type": "chat", "text": f"m{number}", "client_id": f"c{number}"})
            ids[room.pk].append((await first(socket, "ack"))["id"])
    for room_ids in ids.values():
        assert room_ids == sorted(room_ids) and len(set(room_ids)) == 3
    all_ids = [message_id for room_ids in ids.values() for message_id in room_ids]
    assert len(set(all_ids)) == 6
    # Each room leased its own block of the site-wide counter.
    assert int(redis_sync().get(keys.CHAT_NEXT_ID)) == 2 * ID_BLOCK >= max(all_ids)


def test_the_migration_moves_untagged_room_keys_to_their_tagged_names(chat_redis_flushed):
    migration = importlib.import_module("chat.migrations.0005_chat_keys_hash_tags")
    client = redis_sync()
    client.set("chat:room:5:seq", 41)
    client.rpush("chat:room:5:recent", "a", "b")
    client.set("chat:next_id", 9)

    migration.keys_tag(None, None)

    assert client.get(keys.chat_seq(5)) == "41"
    assert client.lrange(keys.chat_recent(5), 0, -1) == ["a", "b"]
    assert client.exists("chat:room:5:seq", "chat:room:5:recent") == 0
    assert client.get(keys.CHAT_NEXT_ID) == "9"
