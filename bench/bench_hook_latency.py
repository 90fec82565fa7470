"""on_publish hook latency with 50 publishes at once (goal: p99 ≤ 50 ms), through a real web server:
Daphne, uvicorn, and uvicorn with two worker processes.

Each round, 50 rooms publish at the same instant (one event loop opens 50 connections at once, as
nginx-rtmp does after a restart), then all 50 end; twenty rounds give 1,000 publish samples. The figure
is the time nginx-rtmp would wait for our answer.
Also printed: the CPU time the web server and PostgreSQL spent per publish during the rounds (on two
cores, a burst of 50 answered within 50 ms leaves 2 ms of CPU per publish for everything together).
"""

import asyncio
import gc
import os
import socket
import time
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import uvloop
from common import ROOT, ServerURL, process_tree_cpu_seconds, summary_ms, web_server
from django.conf import settings

from accounts.models import User
from rooms.selectors import stream_key_active
from rooms.services import room_create

PUBLISHERS = 50
ROUNDS = 20
SERVER_CONFIGS = [("daphne", 1), ("uvicorn", 1), ("uvicorn", 2)]


def make_rooms() -> list[str]:
    keys = []
    for n in range(PUBLISHERS):
        user, _ = User.objects.get_or_create(
            username=f"bench{n}", defaults={"email": f"bench{n}@example.com"}
        )
        room = user.rooms.first() or room_create(owner=user, title=f"Bench room {n}")
        keys.append(stream_key_active(room=room).secret)
    return keys


async def _post(base: str, hook: str, fields: dict) -> tuple[int, float]:
    """One hook call as nginx-rtmp makes it: a new connection, an HTTP/1.0 POST, the answer, closed."""
    url = urllib.parse.urlsplit(base)
    body = urllib.parse.urlencode(fields).encode()
    head = (
        f"POST /hooks/rtmp/{hook}?secret={urllib.parse.quote(settings.RTMP_HOOK_SECRET)} HTTP/1.0\r\n"
        f"Host: {url.hostname}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    with socket.socket() as sock:
        sock.setblocking(False)
        started = time.perf_counter()
        await loop.sock_connect(sock, (url.hostname, url.port))
        await loop.sock_sendall(sock, head + body)
        response = b""
        while chunk := await loop.sock_recv(sock, 4096):  # HTTP/1.0: the server closes once it answered
            response += chunk
        elapsed = time.perf_counter() - started
    return int(response.split(b" ", 2)[1]), elapsed


def _fields(hook: str, key: str, client_id: int) -> dict:
    return {"call": hook, "app": "live", "name": key, "addr": "127.0.0.1", "clientid": str(client_id)}


def run_round(base: str, hook: str, keys: list[str], round_no: int) -> tuple[list[float], list[int]]:
    """Every key's hook at the same instant, from one event loop (an event-driven client like nginx:
    a thread per request would spend more CPU of the same two cores than the server under test)."""

    async def burst():
        calls = (
            _post(base, hook, _fields(hook, key, (round_no + 2) * 1000 + n)) for n, key in enumerate(keys)
        )
        return await asyncio.gather(*calls)

    # The load generator's own garbage collection would pause it mid-burst and count as server time.
    gc.collect()
    gc.disable()
    try:
        answers = uvloop.run(burst())
    finally:
        gc.enable()
    return [elapsed for _, elapsed in answers], [status for status, _ in answers]


def sequential(base: str, keys: list[str]) -> list[float]:
    """The same publishes one at a time: the service time, the baseline of the concurrent figure."""

    async def one_by_one():
        latencies = []
        for n, key in enumerate(keys):
            latencies.append((await _post(base, "publish", _fields("publish", key, n + 1)))[1])
            await _post(base, "publish_done", _fields("publish_done", key, n + 1))
        return latencies

    return uvloop.run(one_by_one())


def postgres_pid() -> int | None:
    """The postmaster of the benchmark's own PostgreSQL (scripts/bench.sh starts it under BENCH_TMP)."""
    pid_file = Path(os.environ.get("BENCH_TMP", "/nonexistent")) / "pg" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


@dataclass
class Target:
    """One web server under test and what it measured."""

    label: str
    base: ServerURL
    one_at_a_time: list[float] = field(default_factory=list)
    publish: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=lambda: {"web": 0.0, "postgres": 0.0})


def measure(targets: list[Target], keys: list[str]) -> None:
    """Every target in the same rounds, one after the other, so a busy machine weighs on all alike."""
    pg_pid = postgres_pid()

    def cpu_now(target: Target) -> dict[str, float]:
        return {
            "web": process_tree_cpu_seconds(target.base.pid),
            "postgres": process_tree_cpu_seconds(pg_pid) if pg_pid else 0.0,
        }

    round_no = 0
    for target in targets:
        target.one_at_a_time = sequential(target.base, keys)
        run_round(target.base, "publish", keys, round_no)  # warm-up: connections, caches, code paths
        run_round(target.base, "publish_done", keys, round_no)
    for _ in range(ROUNDS):
        for target in targets:
            round_no += 1
            before = cpu_now(target)
            latencies, statuses = run_round(target.base, "publish", keys, round_no)
            after = cpu_now(target)
            target.cpu = {name: spent + after[name] - before[name] for name, spent in target.cpu.items()}
            refused = [s for s in statuses if s != 302]
            if refused:
                raise SystemExit(f"{target.label}: publish answered {sorted(set(refused))} instead of 302")
            target.publish.extend(latencies)
            run_round(target.base, "publish_done", keys, round_no)
    for target in targets:
        per_publish = ", ".join(
            f"{name} {spent * 1000 / len(target.publish):.1f} ms"
            for name, spent in target.cpu.items()
            if spent
        )
        print(f"{target.label}: on_publish one at a time: {summary_ms(target.one_at_a_time)}")
        print(
            f"{target.label}: on_publish {PUBLISHERS} at once, {ROUNDS} rounds: {summary_ms(target.publish)}"
        )
        print(f"{target.label}: CPU per publish during the rounds: {per_publish}")


def main() -> None:
    """HOOK_BENCH_BEFORE=<another checkout> (e.g. a git worktree of an earlier commit) adds its uvicorn
    servers to the same rounds: before and after measured under the same load."""
    before = os.environ.get("HOOK_BENCH_BEFORE")
    checkouts = [("before", Path(before)), ("after", ROOT)] if before else [("", ROOT)]
    configs = [
        (server, workers, label, cwd) for server, workers in SERVER_CONFIGS for label, cwd in checkouts
    ]
    if before:
        configs = [config for config in configs if config[0] == "uvicorn"]
    keys = make_rooms()
    with ExitStack() as stack:
        targets = []
        for server, workers, label, cwd in configs:
            base = stack.enter_context(web_server(server=server, workers=workers, cwd=cwd))
            name = f"{server} ×{workers}" if workers > 1 else server
            targets.append(Target(label=f"{label} {name}".strip(), base=base))
        measure(targets, keys)


if __name__ == "__main__":
    main()
