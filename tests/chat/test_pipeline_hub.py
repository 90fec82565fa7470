"""The hub's delivery rules, with sockets whose clients are fast or stuck."""

import asyncio
import json

import pytest

from chat.hub import CLOSE_SLOW, Frame, Socket, room_events_publish_async
from streamlite.redis import keys, redis_sync

pytestmark = pytest.mark.asyncio


class FakeClient:
    """The far end of a socket: records frames, or never finishes a send (a stalled TCP connection)."""

    def __init__(self, *, stuck: bool = False):
        self.frames: list[str] = []
        self.closed_with: int | None = None
        self.stuck = stuck

    async def send(self, frame: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.frames.append(frame)

    async def close(self, code: int) -> None:
        self.closed_with = code


async def test_a_slow_socket_is_closed_and_the_others_get_every_frame(chat_hub, settings):
    settings.CHAT_SOCKET_QUEUE_FRAMES = 16
    settings.CHAT_TICK_MS = 10
    fast, slow = FakeClient(), FakeClient(stuck=True)
    room_id = 1
    for client in (fast, slow):
        await chat_hub.join(
            room_id=room_id, socket=Socket(send=client.send, close=client.close, user_id=None)
        )
    for n in range(40):
        await room_events_publish_async(room_id=room_id, events=[{"type": "chat", "text": str(n)}])
        async with asyncio.timeout(5):  # one frame each
            while len(fast.frames) <= n:
                await asyncio.sleep(0.005)
    async with asyncio.timeout(5):
        while sum(len(json.loads(frame)["events"]) for frame in fast.frames) < 40:
            await asyncio.sleep(0.05)
    assert slow.closed_with == CLOSE_SLOW
    seqs = [event["seq"] for frame in fast.frames for event in json.loads(frame)["events"]]
    assert seqs == list(range(1, 41))


async def test_one_frame_per_tick_and_danmaku_past_the_cap_are_marked_overflow(chat_hub, settings):
    settings.CHAT_DANMAKU_PER_TICK = 2
    client = FakeClient()
    await chat_hub.join(room_id=7, socket=Socket(send=client.send, close=client.close, user_id=None))
    settings.CHAT_TICK_MS = 2000
    # A first event opens the tick; what comes within it goes out together in the next frame.
    await room_events_publish_async(room_id=7, events=[{"type": "viewers", "count": 1}])
    async with asyncio.timeout(5):
        while not client.frames:
            await asyncio.sleep(0.02)
    for n in range(4):
        await room_events_publish_async(room_id=7, events=[{"type": "danmaku", "text": str(n)}])
    await room_events_publish_async(room_id=7, events=[{"type": "chat", "text": "4"}])
    async with asyncio.timeout(5):
        while len(client.frames) < 2:
            await asyncio.sleep(0.02)
    frame = client.frames[1]
    events = json.loads(frame)["events"]
    assert [e.get("overflow", False) for e in events] == [False, False, True, True, False]


async def test_an_idle_room_is_flushed_at_once_a_busy_one_once_per_tick_in_seq_order(chat_hub, settings):
    settings.CHAT_TICK_MS = 2000
    client = FakeClient()
    await chat_hub.join(room_id=3, socket=Socket(send=client.send, close=client.close, user_id=None))
    started = asyncio.get_running_loop().time()
    await room_events_publish_async(room_id=3, events=[{"type": "chat", "text": "1"}])
    async with asyncio.timeout(1.5):  # well before the tick: nothing was sent in the last one
        while not client.frames:
            await asyncio.sleep(0.01)
    for n in range(2, 6):  # within the tick that the first flush began: they wait for its end, together
        await room_events_publish_async(room_id=3, events=[{"type": "chat", "text": str(n)}])
    async with asyncio.timeout(5):
        while len(client.frames) < 2:
            await asyncio.sleep(0.01)
    assert asyncio.get_running_loop().time() - started >= 1.9
    await asyncio.sleep(0.3)
    assert [[event["seq"] for event in json.loads(frame)["events"]] for frame in client.frames] == [
        [1],
        [2, 3, 4, 5],
    ]


async def test_events_from_two_publishers_reach_a_socket_once_each_in_seq_order(chat_hub):
    """Publishers race (two processes, many senders): each socket still gets every seq once, ascending."""
    client = FakeClient()
    await chat_hub.join(room_id=9, socket=Socket(send=client.send, close=client.close, user_id=None))

    async def publisher(name: str) -> None:
        for n in range(30):
            await room_events_publish_async(room_id=9, events=[{"type": "chat", "text": f"{name}{n}"}])

    await asyncio.gather(publisher("a"), publisher("b"), publisher("c"))
    async with asyncio.timeout(5):
        while sum(len(json.loads(frame)["events"]) for frame in client.frames) < 90:
            await asyncio.sleep(0.02)
    seqs = [event["seq"] for frame in client.frames for event in json.loads(frame)["events"]]
    assert seqs == list(range(1, 91))


async def test_a_gap_in_the_seqs_received_is_filled_from_the_recent_list_before_what_follows(chat_hub):
    """A publish the hub never received (lost with its pub/sub connection, or a shard's failover): the
    next event shows the gap, and the kept events in it reach the socket first, in seq order."""
    client = FakeClient()
    await chat_hub.join(room_id=4, socket=Socket(send=client.send, close=client.close, user_id=None))
    await room_events_publish_async(room_id=4, events=[{"type": "chat", "text": "a"}])
    # seqs 2 and 3 numbered and kept but their publish lost: a message, then a viewer count (not kept)
    lost = {"type": "chat", "id": 2, "seq": 2, "text": "lost"}
    redis = redis_sync()
    await asyncio.to_thread(redis.incrby, keys.chat_seq(4), 2)
    await asyncio.to_thread(redis.rpush, keys.chat_recent(4), json.dumps(lost))
    await room_events_publish_async(room_id=4, events=[{"type": "chat", "text": "b"}])
    await room_events_publish_async(room_id=4, events=[{"type": "chat", "text": "c"}])
    async with asyncio.timeout(5):
        while sum(len(json.loads(frame)["events"]) for frame in client.frames) < 4:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    shown = [
        (event["seq"], event["text"]) for frame in client.frames for event in json.loads(frame)["events"]
    ]
    assert shown == [(1, "a"), (2, "lost"), (4, "b"), (5, "c")]


async def test_a_socket_sends_what_its_join_batch_and_a_resume_already_gave_once():
    """The join batch and a resume answer overlap the live frames queued meanwhile: each seq goes out
    once, and a deletion the join batch left out still reaches a resuming client."""
    client = FakeClient()
    socket = Socket(send=client.send, close=client.close, user_id=None, held=True)

    def chat(seq: int) -> dict:
        return {"type": "chat", "seq": seq, "id": seq, "text": str(seq)}

    socket.push(Frame.of([chat(4), chat(5)]))  # live, queued while the join batch was read
    join = Frame.of([chat(1), chat(2), chat(4), {"type": "viewers", "count": 3}])
    join.last = 4  # the recent list also held a deletion, seq 3
    socket.open(join)
    socket.push(Frame.of([{"type": "delete", "id": 2, "seq": 3}, chat(4), chat(5)], resume=True))
    socket.push(Frame.of([{"type": "ack", "client_id": "x", "id": 6, "seq": 6}, chat(6)]))
    async with asyncio.timeout(5):
        while len(client.frames) < 4:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    sent = [[(e["type"], e.get("seq")) for e in json.loads(frame)["events"]] for frame in client.frames]
    assert sent == [
        [("chat", 1), ("chat", 2), ("chat", 4), ("viewers", None)],
        [("chat", 5)],
        [("delete", 3)],
        [("ack", 6), ("chat", 6)],
    ]
    socket.stop()


async def test_a_cache_entry_is_loaded_once_for_every_message_waiting_on_it(chat_hub):
    """An entry expiring under a busy room: the messages waiting share one query instead of each queueing
    its own in the thread pool; a ban order drops a load in flight, so the next message loads afresh."""
    loads = []
    release = asyncio.Event()

    async def load():
        loads.append(1)
        await release.wait()
        return {len(loads)}

    waiting = [asyncio.create_task(chat_hub.cached_load(("bans", 8), 5, load)) for _ in range(50)]
    await asyncio.sleep(0.05)
    release.set()
    assert [await task for task in waiting] == [{1}] * 50
    assert len(loads) == 1
    assert await chat_hub.cached_load(("bans", 8), 5, load) == {1}  # cached now

    release.clear()
    in_flight = asyncio.create_task(chat_hub.cached_load(("bans", 9), 5, load))
    await asyncio.sleep(0.05)
    chat_hub._control({"close_user": 1, "room_id": 9})  # a ban in room 9
    release.set()
    assert await in_flight == {2}
    assert await chat_hub.cached_load(("bans", 9), 5, load) == {3}  # the dropped load was not kept
