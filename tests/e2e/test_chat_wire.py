"""Room frames through the web process as `make run` starts it (uvicorn): the hub writes each frame's bytes,
built once, straight to every socket's transport (chat/wire.py). Real websocket clients parse them; a
client that stops reading is closed with 4008 while the others get every event."""

import asyncio
import base64
import os
import socket

import pytest
import websockets
from websockets.frames import Close, Opcode
from websockets.frames import Frame as WireFrame
from websockets.streams import StreamReader

from chat.hub import CLOSE_SLOW, room_events_publish
from chat.wire import frame_bytes
from tests.e2e.conftest import free_port, running_web, shared_database_url
from tests.e2e.test_two_nodes import Client, until
from tests.factories import RoomFactory

# One event per tick, 400 KB each: the stalled client's connection (a few MB of kernel buffers) is full
# after a dozen frames, its queue a few frames later.
EVENTS = 40
TEXT = "弹" * 133_000


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_frame_built_once_is_a_text_frame_websockets_reads_back(size):
    text = "x" * size
    reader = StreamReader()
    reader.feed_data(frame_bytes(text))
    parser = WireFrame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    assert (frame.opcode, frame.fin, frame.data.decode()) == (Opcode.TEXT, True, text)
    assert frame_bytes(text) == frame.serialize(mask=False)


def stalled_open(base_url: str, path: str) -> socket.socket:
    """A websocket client that, once its handshake is answered, reads nothing (a stalled connection)."""
    sock = socket.create_connection(("127.0.0.1", int(base_url.rsplit(":", 1)[1])), timeout=30)
    # A fixed receive buffer, so that the server's side fills within the run (an unset one grows to MBs).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {base_url.removeprefix('http://')}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {base_url}\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # one byte at a time: not a byte of the first frame is read
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def frames_read(sock: socket.socket) -> list[WireFrame]:
    """Every frame the server sent, up to its close frame."""
    reader = StreamReader()
    frames: list[WireFrame] = []
    parser = WireFrame.parse(reader.read_exact, mask=False)
    while True:
        try:
            next(parser)  # it waits for more bytes
        except StopIteration as done:
            frames.append(done.value)
            if done.value.opcode is Opcode.CLOSE:
                return frames
            parser = WireFrame.parse(reader.read_exact, mask=False)
            continue
        chunk = sock.recv(1 << 16)
        assert chunk, "the connection ended without a close frame"
        reader.feed_data(chunk)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_frames_written_straight_to_the_transport_reach_readers_whole_and_a_stalled_one_is_closed(tmp_path):
    room = RoomFactory()
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "CHAT_SOCKET_QUEUE_FRAMES": "4"}

    async def scenario(base_url: str):
        ws_url = f"ws{base_url.removeprefix('http')}/ws/rooms/{room.pk}/"
        readers = []
        for _ in range(2):
            connection = await websockets.connect(ws_url, origin=base_url, max_size=None)
            readers.append(Client(connection))
        stalled = await asyncio.to_thread(stalled_open, base_url, f"/ws/rooms/{room.pk}/")
        await until(lambda: all(reader.events for reader in readers), what="the join batches")
        for n in range(EVENTS):
            await asyncio.to_thread(
                room_events_publish, room_id=room.pk, events=[{"type": "chat", "id": n, "text": TEXT}]
            )
            await asyncio.sleep(0.15)
        await until(
            lambda: all(len(reader.of_type("chat")) >= EVENTS for reader in readers),
            what=lambda: f"every event on both readers: {[len(r.of_type('chat')) for r in readers]}",
            timeout=60,
        )
        for reader in readers:
            chats = reader.of_type("chat")
            assert [event["id"] for event in chats] == list(range(EVENTS))
            assert [event["seq"] for event in chats] == sorted({event["seq"] for event in chats})
            assert all(event["text"] == TEXT for event in chats)
            await reader.close()
        return await asyncio.to_thread(frames_read, stalled)

    with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
        frames = asyncio.run(scenario(base_url))
    # What reached the stalled client before the server gave up on it: whole frames, then a close 4008.
    assert frames[0].opcode is Opcode.TEXT
    assert frames[-1].opcode is Opcode.CLOSE
    assert Close.parse(frames[-1].data).code == CLOSE_SLOW
    # uvicorn's keepalive pings may come in between.
    assert {frame.opcode for frame in frames[:-1]} <= {Opcode.TEXT, Opcode.PING}
    assert "closing a slow chat socket" in (tmp_path / "web.log").read_text()
