"""Chat fan-out: V websocket viewers in one room and senders at R messages/s for D seconds, against the stack
exactly as `make run` starts it (scripts/run.sh: its uvicorn processes, worker, beat, ingest, PostgreSQL,
Redis, logging), with the load generator in this process; then the naive baseline (bench/naive_app.py: one
group_send and one frame per message per viewer, one uvicorn process) at the first row's load.

Prints per row: send→read latency p50/p99/max over every delivery of every message, loss by seq, events
delivered twice to one socket, the ack's latency, and the CPU of each server process and of the generator.

Env: BENCH_CHAT_ROWS [1000x100,2000x500,4000x500] (viewers x messages/s), BENCH_CHAT_SECONDS [30],
BENCH_CHAT_SENDERS [100], BENCH_CHAT_NAIVE [1] (0: skip the baseline)."""

import asyncio
import base64
import gc
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from array import array
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
import websockets
from stack import ROOT, Stack, cpu_seconds, descendants, free_port, port_open, process_name

ROWS = [
    tuple(int(n) for n in row.split("x"))
    for row in os.environ.get("BENCH_CHAT_ROWS", "1000x100,2000x500,4000x500").split(",")
]
SECONDS = int(os.environ.get("BENCH_CHAT_SECONDS", 30))
SENDERS = int(os.environ.get("BENCH_CHAT_SENDERS", 100))
NAIVE = os.environ.get("BENCH_CHAT_NAIVE", "1") == "1"
DRAIN_S = 5
CONNECT_AT_ONCE = 50
# Senders post R/SENDERS messages/s each: the per-user flood limit is lifted to that (it still runs on
# every message), and the room has no cooldown.
LIMITS = {"CHAT_BUCKET_SIZE": "100", "CHAT_BUCKET_REFILL_PER_S": "100"}


@contextmanager
def naive_server(env: dict):
    """The naive baseline under one uvicorn process; yields (websocket base URL, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "bench.naive_app:application", "--lifespan", "off",
         "--log-level", "warning", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**env, "ALLOWED_HOSTS": "127.0.0.1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if time.monotonic() > deadline:
                raise RuntimeError("the naive server did not start")
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass
class Frame:
    seqs: tuple  # every seq in the frame
    sent: tuple  # (seq, send time) of this load's messages


@dataclass
class Tally:
    viewers: int
    frames: list = field(default_factory=list)  # Frame by index
    # One entry per frame read by a viewer: which frame and when. Every delivery's latency is computed from
    # these after the load, so reading a frame costs the generator two appends.
    at_frame: array = field(default_factory=lambda: array("i"))
    at_time: array = field(default_factory=lambda: array("d"))
    seen: list = field(default_factory=list)  # per viewer: the frame indexes it read, in order
    acked: dict = field(default_factory=dict)  # seq → client_id, from the acks
    sent: dict = field(default_factory=dict)  # client_id → send time
    ack_latencies: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    closed: int = 0
    finished: bool = False
    # The room's recent list, and so every join batch, may hold earlier messages: not this load's.
    since: float = field(default_factory=time.monotonic)


def frame_index(frame: bytes, cache: dict, tally: Tally, now: float) -> int:
    """The index of a frame's text. Every viewer receives the same frame text, so it is parsed once per
    frame, not once per viewer: the load generator must stay lighter than the server it measures."""
    index = cache.get(frame)
    if index is None:
        events = json.loads(frame)["events"]
        seqs = tuple(event["seq"] for event in events if "seq" in event)
        sent = tuple(
            (event["seq"], sent)
            for event in events
            if event["type"] == "chat"
            and event["text"].startswith("t=")
            and (sent := float(event["text"][2:])) >= tally.since
        )
        index = cache[frame] = len(tally.frames)
        tally.frames.append(Frame(seqs=seqs, sent=sent))
    return index


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
                index = frame_index(payload, self.cache, self.tally, now)
                self.seen.append(index)
                self.tally.at_frame.append(index)
                self.tally.at_time.append(now)
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
                            tally.errors[event.get("code", "?")] += 1

            reader = asyncio.create_task(read())
            while (item := await outbox.get()) is not None:
                await ws.send(item)
            await asyncio.sleep(DRAIN_S)
            reader.cancel()
    except websockets.ConnectionClosed:
        # A server that broke down (the naive baseline) drops senders too: what was acked still counts.
        tally.errors["closed"] += 1
        while await outbox.get() is not None:
            pass


async def load(url: str, tokens: list[str], viewers_count: int, rate: int) -> Tally:
    tally = Tally(viewers=viewers_count, seen=[array("i") for _ in range(viewers_count)])
    cache: dict = {}
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    parsed = urllib.parse.urlsplit(url)

    async def open_viewer(index: int):
        async with gate:
            return await viewer(parsed.hostname, parsed.port, parsed.path, tally, index, cache)

    viewers = await asyncio.gather(*(open_viewer(i) for i in range(viewers_count)))
    await asyncio.sleep(3)  # every viewer joined and read its join batch
    outboxes = [asyncio.Queue() for _ in tokens]
    senders = [
        asyncio.create_task(sender(url, t, tally, box)) for t, box in zip(tokens, outboxes, strict=True)
    ]
    await asyncio.sleep(1)
    # client_ids unique to this load: the server takes a repeated (user, client_id) once and answers it
    # with the first ack, so reusing ids across rows would measure nothing but the dedupe.
    run = os.urandom(4).hex()
    tally.since = started = time.monotonic()
    for n in range(rate * SECONDS):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
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


def percentile(histogram: list[int], total: int, p: float) -> float:
    if not total:
        return float("nan")
    wanted, running = total * p / 100, 0
    for ms, count in enumerate(histogram):
        running += count
        if running >= wanted:
            return ms
    return len(histogram)


def deliveries(tally: Tally) -> dict:
    """Latency of every delivery (1 ms buckets), and per socket the loss and the events read twice."""
    expected = set(tally.acked)
    histogram = [0] * 60_000
    total, worst = 0, 0.0
    for index, at in zip(tally.at_frame, tally.at_time, strict=True):
        for _seq, sent in tally.frames[index].sent:
            latency = at - sent
            histogram[min(int(latency * 1000), 59_999)] += 1
            total += 1
            worst = max(worst, latency)
    counted = [sum(1 for seq, _ in frame.sent if seq in expected) for frame in tally.frames]
    delivered = duplicated = 0
    for seen in tally.seen:
        last, in_order = 0, True
        for index in seen:
            seqs = tally.frames[index].seqs
            if seqs and seqs[0] <= last:
                in_order = False
                break
            if seqs:
                last = max(last, seqs[-1]) if seqs == tuple(sorted(seqs)) else float("inf")
        if in_order:
            delivered += sum(counted[index] for index in seen)
            continue
        # Frames overlap or come out of order: count this socket's events one by one.
        times = Counter(seq for index in seen for seq in tally.frames[index].seqs)
        duplicated += sum(n - 1 for n in times.values() if n > 1)
        delivered += sum(1 for seq in times if seq in expected)
    wanted = len(expected) * tally.viewers
    return {
        "total": total,
        "p50": percentile(histogram, total, 50),
        "p99": percentile(histogram, total, 99),
        "max": worst * 1000,
        "loss": 1 - delivered / wanted if wanted else 1.0,
        "delivered": delivered,
        "wanted": wanted,
        "duplicated": duplicated,
    }


def report(name: str, tally: Tally, rate: int, cpu: dict[str, float], client_cpu: float) -> dict:
    figures = deliveries(tally)
    acks = sorted(tally.ack_latencies)
    ack_p99 = acks[int(len(acks) * 0.99)] * 1000 if acks else float("nan")
    spent = SECONDS + DRAIN_S
    processes = ", ".join(
        f"{who} {seconds / spent:.0%}" for who, seconds in cpu.items() if seconds / spent >= 0.01
    )
    print(
        f"{name}: {tally.viewers} viewers, {rate}/s: sent={rate * SECONDS} acked={len(tally.acked)} "
        f"errors={dict(tally.errors)} deliveries={figures['delivered']}/{figures['wanted']} "
        f"loss={figures['loss']:.2%} duplicated={figures['duplicated']} p50={figures['p50']:.0f} ms "
        f"p99={figures['p99']:.0f} ms max={figures['max']:.0f} ms ack p99={ack_p99:.0f} ms "
        f"viewers dropped={tally.closed}\n"
        f"{name}: CPU (of a core) {processes}; load generator {client_cpu / spent:.0%}; "
        f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        flush=True,
    )
    return figures


def cpu_by_process(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the stack inherits it too
    folder = Path(tempfile.mkdtemp(prefix="streamlite-chatbench."))
    folder.chmod(0o755)  # PostgreSQL runs as its own user
    stack = Stack(folder)
    stack.env.update(LIMITS)
    try:
        stack.start()
        stack.django()
        from rest_framework_simplejwt.tokens import AccessToken

        from tests.factories import RoomFactory, UserFactory

        # Senders sign in with tokens: no password to hash (the production hasher is slow on purpose).
        tokens = [str(AccessToken.for_user(UserFactory(password=None))) for _ in range(SENDERS)]
        ws_base = f"ws://127.0.0.1:{stack.ports['WEB_PORT']}"
        # The tally grows to millions of entries; a full collection walking it would pause every viewer
        # at once and show up as server latency.
        gc.disable()
        for viewers_count, rate in ROWS:
            room = RoomFactory(comment_cooldown_ms=0)
            pids = descendants(stack.process.pid)
            before, client_before = cpu_by_process(pids), time.process_time()
            tally = uvloop.run(load(f"{ws_base}/ws/rooms/{room.pk}/", tokens, viewers_count, rate))
            after, client_cpu = cpu_by_process(pids), time.process_time() - client_before
            cpu: Counter = Counter()
            for pid in pids:
                cpu[f"{process_name(pid)}[{pid}]"] += after[pid] - before[pid]
            report("make-run", tally, rate, dict(cpu.most_common(8)), client_cpu)
            del tally
            gc.collect()
        if NAIVE:
            viewers_count, rate = ROWS[0]
            room = RoomFactory(comment_cooldown_ms=0)
            with naive_server({**os.environ, **LIMITS}) as (base, pid):
                before, client_before = cpu_seconds(pid), time.process_time()
                tally = uvloop.run(load(f"{base}/ws/rooms/{room.pk}/", tokens, viewers_count, rate))
                cpu = {f"naive uvicorn[{pid}]": cpu_seconds(pid) - before}
                report("naive", tally, rate, cpu, time.process_time() - client_before)
    finally:
        stack.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
