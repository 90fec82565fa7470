"""The hub's delivery rules, with sockets whose clients are fast or stuck."""

import asyncio
import json

import pytest

from chat.hub import CLOSE_SLOW, Socket

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
    fast, slow = FakeClient(), FakeClient(stuck=True)
    room_id = 1
    for client in (fast, slow):
        await chat_hub.join(
            room_id=room_id, socket=Socket(send=client.send, close=client.close, user_id=None)
        )
    for n in range(40):
        chat_hub.enqueue(room_id=room_id, event={"type": "chat", "seq": n, "text": str(n)})
        await chat_hub.flush()
    async with asyncio.timeout(5):
        while len(fast.frames) < 40:
            await asyncio.sleep(0.05)
    assert slow.closed_with == CLOSE_SLOW
    assert [json.loads(frame)["events"][0]["seq"] for frame in fast.frames] == list(range(40))


async def test_one_frame_per_tick_and_danmaku_past_the_cap_are_marked_overflow(chat_hub, settings):
    settings.CHAT_DANMAKU_PER_TICK = 2
    client = FakeClient()
    await chat_hub.join(room_id=7, socket=Socket(send=client.send, close=client.close, user_id=None))
    for n in range(4):
        chat_hub.enqueue(room_id=7, event={"type": "danmaku", "seq": n})
    chat_hub.enqueue(room_id=7, event={"type": "chat", "seq": 4})
    await chat_hub.flush()
    async with asyncio.timeout(5):
        while not client.frames:
            await asyncio.sleep(0.02)
    [frame] = client.frames
    events = json.loads(frame)["events"]
    assert [e.get("overflow", False) for e in events] == [False, False, True, True, False]


async def test_an_idle_room_is_flushed_at_once_a_busy_one_once_per_tick_in_seq_order(chat_hub, settings):
    settings.CHAT_TICK_MS = 2000
    client = FakeClient()
    await chat_hub.join(room_id=3, socket=Socket(send=client.send, close=client.close, user_id=None))
    started = asyncio.get_running_loop().time()
    chat_hub.enqueue(room_id=3, event={"type": "chat", "seq": 1})
    async with asyncio.timeout(1.5):  # well before the tick: nothing was sent in the last one
        while not client.frames:
            await asyncio.sleep(0.01)
    for n in range(2, 6):  # within the tick that the first flush began: they wait for its end, together
        chat_hub.enqueue(room_id=3, event={"type": "chat", "seq": n})
    async with asyncio.timeout(5):
        while len(client.frames) < 2:
            await asyncio.sleep(0.01)
    assert asyncio.get_running_loop().time() - started >= 1.9
    await asyncio.sleep(0.3)
    assert [[event["seq"] for event in json.loads(frame)["events"]] for frame in client.frames] == [
        [1],
        [2, 3, 4, 5],
    ]
