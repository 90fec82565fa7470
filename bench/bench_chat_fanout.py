"""Chat fan-out: N websocket viewers in one room and senders at R messages/s for D seconds, against the real
site (the hub: one publish per room per tick) under uvicorn and Daphne, and against the naive baseline
(bench/naive_app.py: one group_send and one frame per message per viewer) under uvicorn, in one run.
Figures: delivery latency (send → a viewer reads it) p50/p99, loss by seq, server CPU.

Env: BENCH_CHAT_VIEWERS [1000], BENCH_CHAT_RATE [100], BENCH_CHAT_SECONDS [60], BENCH_CHAT_SENDERS [20],
BENCH_CHAT_SERVERS [uvicorn,daphne,naive]."""

import asyncio
import base64
import gc
import json
import os
import resource
import socket
import subprocess
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvloop
import websockets
from common import ROOT, free_port, percentile

VIEWERS = int(os.environ.get("BENCH_CHAT_VIEWERS", 1000))
RATE = int(os.environ.get("BENCH_CHAT_RATE", 100))
SECONDS = int(os.environ.get("BENCH_CHAT_SECONDS", 60))
SENDERS = int(os.environ.get("BENCH_CHAT_SENDERS", 20))
SERVERS = os.environ.get("BENCH_CHAT_SERVERS", "uvicorn,daphne,naive").split(",")
DRAIN_S = 5
CONNECT_AT_ONCE = 50

COMMANDS = {
    "uvicorn": ["uvicorn", "streamlite.asgi:application", "--lifespan", "off", "--log-level", "warning"],
    "daphne": ["daphne", "-v", "0", "streamlite.asgi:application"],
    "naive": ["uvicorn", "bench.naive_app:application", "--lifespan", "off", "--log-level", "warning"],
}


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open within {timeout} s")


@contextmanager
def server(kind: str):
    """The server process; yields (websocket base URL, pid)."""
    port = free_port()
    program, *args = COMMANDS[kind]
    bind = (
        ["--host", "127.0.0.1", "--port", str(port)]
        if program == "uvicorn"
        else ["-b", "127.0.0.1", "-p", str(port)]
    )
    env = {
        **os.environ,
        # Senders post R/S messages/s each; the room's flood limits are not what is measured here.
        "CHAT_BUCKET_SIZE": str(RATE),
        "CHAT_BUCKET_REFILL_PER_S": str(RATE),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin" / program), *args, *bind], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_port(port)
        yield f"ws://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    seen: list[set] = field(default_factory=list)
    acked: dict = field(default_factory=dict)  # seq → client_id, from the acks
    sent: dict = field(default_factory=dict)  # client_id → send time
    ack_latencies: list[float] = field(default_factory=list)
    # Per message, its first reading by any viewer: the accept path and the tick, without the fan-out.
    first_latencies: list[float] = field(default_factory=list)
    errors: int = 0
    closed: int = 0
    finished: bool = False
    # The room's recent list, and so every join batch, still holds the messages of the servers measured
    # before in the same run: they are not this load's deliveries.
    since: float = field(default_factory=time.monotonic)


def frame_parse(frame: bytes, cache: dict, tally: Tally, now: float) -> list[tuple[int, float]]:
    """(seq, send time) of the benchmark's chat messages in a frame. Every viewer receives the same frame
    text, so it is parsed once per frame, not once per viewer: the load generator must stay lighter than
    the server it measures."""
    parsed = cache.get(frame)
    if parsed is None:
        parsed = [
            (event["seq"], sent)
            for event in json.loads(frame)["events"]
            if event["type"] == "chat"
            and event["text"].startswith("t=")
            and (sent := float(event["text"][2:])) >= tally.since
        ]
        if len(cache) > 1000:
            cache.clear()
        cache[frame] = parsed
        tally.first_latencies.extend(now - sent for _, sent in parsed)
    return parsed


class ViewerProtocol(asyncio.Protocol):
    """A websocket viewer at the level of frames: a handshake, then unmasked server frames split from the
    byte stream. The `websockets` client spends ~100 µs of Python per frame; 1,000 viewers at 10 frames/s
    would make the load generator, not the server, the bottleneck on a 2-core machine."""

    def __init__(self, *, request: bytes, tally: Tally, index: int, cache: dict):
        self.request, self.tally, self.cache = request, tally, cache
        self.seen = tally.seen[index]
        self.buffer = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        elif not self.tally.finished:
            self.tally.closed += 1

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buffer[: buffer.find(b"\r\n")]:
                self.opened.set_exception(ConnectionError(bytes(buffer[:end]).decode(errors="replace")))
                return
            del buffer[: end + 4]
            self.opened.set_result(None)
        now = time.monotonic()
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:
                for seq, sent in frame_parse(payload, self.cache, self.tally, now):
                    self.seen.add(seq)
                    self.tally.latencies.append(now - sent)
            elif opcode == 0x9:  # ping: answer a masked pong (zero mask) or the server drops us
                self.transport.write(bytes([0x8A, 0x80 | length, 0, 0, 0, 0]) + payload)


async def viewer(host: str, port: int, path: str, tally: Tally, index: int, cache: dict):
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://{host}:{port}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        lambda: ViewerProtocol(request=request, tally=tally, index=index, cache=cache), host, port
    )
    await protocol.opened
    return transport


async def sender(url: str, token: str, tally: Tally, outbox: asyncio.Queue) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with websockets.connect(
            url,
            origin="http" + url.split("/ws/")[0].removeprefix("ws"),
            additional_headers=headers,
            compression=None,
            ping_interval=None,
        ) as ws:

            async def read() -> None:
                async for frame in ws:
                    for event in json.loads(frame)["events"]:
                        if event["type"] == "ack":
                            tally.acked[event["seq"]] = event["client_id"]
                            tally.ack_latencies.append(time.monotonic() - tally.sent[event["client_id"]])
                        elif event["type"] == "error":
                            tally.errors += 1

            reader = asyncio.create_task(read())
            while (item := await outbox.get()) is not None:
                await ws.send(item)
            await asyncio.sleep(DRAIN_S)
            reader.cancel()
    except websockets.ConnectionClosed:
        # A server that broke down (the naive baseline) drops senders too: what was acked still counts.
        tally.errors += 1
        while await outbox.get() is not None:
            pass


async def load(url: str, tokens: list[str]) -> Tally:
    tally = Tally(seen=[set() for _ in range(VIEWERS)])
    cache: dict = {}
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    parsed = urllib.parse.urlsplit(url)

    async def open_viewer(index: int):
        async with gate:
            return await viewer(parsed.hostname, parsed.port, parsed.path, tally, index, cache)

    viewers = await asyncio.gather(*(open_viewer(i) for i in range(VIEWERS)))
    await asyncio.sleep(3)  # every viewer joined and read its join batch
    outboxes = [asyncio.Queue() for _ in tokens]
    senders = [
        asyncio.create_task(sender(url, t, tally, box)) for t, box in zip(tokens, outboxes, strict=True)
    ]
    await asyncio.sleep(1)
    # client_ids unique to this load: the server takes a repeated (user, client_id) once and answers it
    # with the first ack, so reusing ids across servers would measure nothing but the dedupe.
    run = os.urandom(4).hex()
    started = time.monotonic()
    for n in range(RATE * SECONDS):
        await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
        now = time.monotonic()
        frame = {"type": "chat", "text": f"t={now!r}", "client_id": f"{run}-{n}"}
        tally.sent[frame["client_id"]] = now
        outboxes[n % len(outboxes)].put_nowait(json.dumps(frame))
    for box in outboxes:
        box.put_nowait(None)
    await asyncio.gather(*senders)
    tally.finished = True
    for transport in viewers:
        transport.close()
    return tally


def report(kind: str, tally: Tally, cpu: float, client_cpu: float) -> dict:
    expected = set(tally.acked)
    delivered = sum(len(seen & expected) for seen in tally.seen)
    wanted = len(expected) * VIEWERS
    loss = 1 - delivered / wanted if wanted else 1.0

    def ms(values: list[float]) -> list[float]:
        return sorted(v * 1000 for v in values) or [float("nan")]

    every, acks, firsts = ms(tally.latencies), ms(tally.ack_latencies), ms(tally.first_latencies)
    figures = {
        "p50": percentile(every, 50),
        "p99": percentile(every, 99),
        "max": every[-1],
        "loss": loss,
        "cpu": cpu / (SECONDS + DRAIN_S),
        "client_cpu": client_cpu / (SECONDS + DRAIN_S),
    }
    print(
        f"{kind:8} sent={RATE * SECONDS} acked={len(expected)} errors={tally.errors} "
        f"deliveries={delivered}/{wanted} loss={loss:.2%} p50={figures['p50']:.0f} ms "
        f"p99={figures['p99']:.0f} ms max={figures['max']:.0f} ms server CPU={figures['cpu']:.0%} of a core "
        f"load generator CPU={figures['client_cpu']:.0%} viewers dropped={tally.closed}\n"
        # Where the time goes: the ack (accept path), the first viewer to read a message (accept + tick +
        # publish), and every viewer (+ the fan-out to all sockets and the load generator's reading).
        f"{kind:8} ack p50={percentile(acks, 50):.0f} p99={percentile(acks, 99):.0f} ms; "
        f"first viewer p50={percentile(firsts, 50):.0f} p99={percentile(firsts, 99):.0f} ms",
        flush=True,
    )
    return figures


def main() -> None:
    from rest_framework_simplejwt.tokens import AccessToken  # after common has set Django up

    from tests.factories import RoomFactory, UserFactory

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    room = RoomFactory(comment_cooldown_ms=0)
    tokens = [str(AccessToken.for_user(UserFactory())) for _ in range(SENDERS)]
    # The tally grows to millions of entries; a full collection walking it would pause every viewer at
    # once and show up as server latency.
    gc.disable()
    print(f"{VIEWERS} viewers, {RATE} messages/s from {SENDERS} senders for {SECONDS} s", flush=True)
    results = {}
    for kind in SERVERS:
        with server(kind) as (base, pid):
            before, client_before = cpu_seconds(pid), time.process_time()
            # uvloop, as the server has it (uvicorn[standard]): the selector loop of the standard library
            # spends more on the 1,000 viewers' reads than the server spends writing them.
            tally = uvloop.run(load(f"{base}/ws/rooms/{room.pk}/", tokens))
            cpu, client_cpu = cpu_seconds(pid) - before, time.process_time() - client_before
            results[kind] = report(kind, tally, cpu, client_cpu)
    if "naive" in results and "uvicorn" in results:
        naive, hub = results["naive"], results["uvicorn"]
        print(
            f"naive/hub under uvicorn: p99 ×{naive['p99'] / hub['p99']:.1f}, "
            f"loss {naive['loss']:.2%} vs {hub['loss']:.2%}"
        )


if __name__ == "__main__":
    main()
