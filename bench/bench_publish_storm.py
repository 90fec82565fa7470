"""Reconnect storm: 200 encoders publish at once (an ingest restart), against the stack as `make run`
starts it (uvicorn with WEB_WORKERS=2, PostgreSQL, Redis, a Celery worker). Goal: every room live within
5 s of the first publish, none refused.

Each round, one event loop sends the 200 on_publish hooks at the same instant as nginx-rtmp sends them
(a new connection each, form-encoded, HTTP/1.0), and polls from that instant: the database (rooms whose
status is live) and the API an anonymous visitor reads (`GET /api/rooms/?status=live`, a cached list that
a room going live outdates). The figure is the time from the first publish until all 200 read live.
Then every room ends (publish_done) and the worker drains before the next round.

STORM_BENCH_BEFORE=<commit> adds that commit's code (extracted with git archive, served by this
virtualenv, with a database and a Redis database of its own) to the same rounds, one stack after the
other, so a busy machine weighs on both alike.
"""

import asyncio
import gc
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.parse
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import uvloop
from common import ROOT, free_port, percentile, process_tree_cpu_seconds, wait_http
from django.conf import settings

ENCODERS = 200
FOLLOWERS_PER_ROOM = 5
ROUNDS = int(os.environ.get("STORM_BENCH_ROUNDS", "3"))
GOAL_S = 5.0
POLL_S = 0.05
GIVE_UP_S = 60.0
WEB_WORKERS = 2

# Run in each checkout's own code (`manage.py shell -c`): the storm's rooms and followers, printed keys.
PREPARE = f"""
import json
from accounts.models import User
from rooms.models import Follow, Room
from rooms.selectors import stream_key_active
from rooms.services import room_create

fans = [User.objects.get_or_create(username=f"stormfan{{n}}", defaults={{"email": f"stormfan{{n}}@example.com"}})[0]
        for n in range(100)]
keys = []
for n in range({ENCODERS}):
    user, _ = User.objects.get_or_create(username=f"storm{{n}}", defaults={{"email": f"storm{{n}}@example.com"}})
    room = user.rooms.first() or room_create(owner=user, title=f"Storm room {{n}}")
    for fan in fans[n % 100 : n % 100 + {FOLLOWERS_PER_ROOM}]:
        Follow.objects.get_or_create(follower=fan, followed=user)
    keys.append([room.pk, stream_key_active(room=room).secret])
Room.objects.filter(owner__username__startswith="storm").update(status="idle")
print("KEYS" + json.dumps(keys))
"""


@dataclass
class Stack:
    """One checkout's web servers and worker, with its database and Redis database."""

    label: str
    cwd: Path
    env: dict
    rooms: list[list] = field(default_factory=list)  # [room id, stream key]
    base: str = ""
    web_pid: int = 0
    worker_pid: int = 0
    live_db_s: list[float] = field(default_factory=list)
    live_api_s: list[float] = field(default_factory=list)
    answers_s: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=lambda: {"web": 0.0, "worker": 0.0, "postgres": 0.0})


def _python(cwd: Path, env: dict, *args: str) -> str:
    return subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout


def _other_database(url: str, name: str) -> str:
    """A fresh database of ``name`` next to the one of ``url``; returns its URL."""
    parts = urllib.parse.urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def checkout_of(commit: str):
    """The tree of ``commit`` in a temporary folder (no worktree: nothing to clean up in the repository)."""
    with tempfile.TemporaryDirectory(prefix="storm-before-") as folder:
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def prepare(stack: Stack) -> None:
    _python(stack.cwd, stack.env, "migrate", "-v0")
    out = _python(stack.cwd, stack.env, "shell", "-c", PREPARE)
    stack.rooms = json.loads(out.split("KEYS", 1)[1])


@contextmanager
def running(stack: Stack):
    """uvicorn and a Celery worker as scripts/run.sh starts them."""
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="storm-metrics-")
    env = {**stack.env, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    venv = ROOT / ".venv/bin"
    web = subprocess.Popen(
        [
            str(venv / "uvicorn"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WEB_WORKERS),
            "--lifespan",
            "off",
            "--ws-per-message-deflate",
            "false",
            "streamlite.asgi:application",
        ],
        cwd=stack.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [str(venv / "celery"), "-A", "streamlite", "worker", "-l", "warning", "--concurrency", "2"],
        cwd=stack.cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.base, stack.web_pid, stack.worker_pid = f"http://127.0.0.1:{port}", web.pid, worker.pid
    try:
        wait_http(stack.base + "/healthz", timeout=60)
        yield stack
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _http(base: str, request: bytes) -> bytes:
    """One HTTP/1.0 exchange on a new connection, as nginx-rtmp makes its hook calls."""
    url = urllib.parse.urlsplit(base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        return await reader.read()  # HTTP/1.0: the server closes once it answered
    finally:
        writer.close()


def _hook_request(base: str, hook: str, key: str, client_id: int) -> bytes:
    body = urllib.parse.urlencode(
        {"call": hook, "app": "live", "name": key, "addr": "127.0.0.1", "clientid": str(client_id)}
    ).encode()
    head = (
        f"POST /hooks/rtmp/{hook}?secret={urllib.parse.quote(settings.RTMP_HOOK_SECRET)} HTTP/1.0\r\n"
        f"Host: {urllib.parse.urlsplit(base).hostname}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _hook(base: str, hook: str, key: str, client_id: int, started: float) -> tuple[int, float]:
    response = await _http(base, _hook_request(base, hook, key, client_id))
    return int(response.split(b" ", 2)[1]), time.perf_counter() - started


async def _api_live_count(base: str) -> int:
    response = await _http(base, b"GET /api/rooms/?status=live HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    return json.loads(response.split(b"\r\n\r\n", 1)[1])["count"]


async def _db_live_count(conn, room_ids: list[int]) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM rooms_room WHERE status = 'live' AND id = ANY(%s)", (room_ids,)
    )
    return (await cursor.fetchone())[0]


async def storm(stack: Stack, round_no: int) -> tuple[float, float, list[float]]:
    """Every encoder's publish at once; (all live in the database, all live in the API, answer times)."""
    room_ids = [room_id for room_id, _ in stack.rooms]
    async with await psycopg.AsyncConnection.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        assert await _db_live_count(conn, room_ids) == 0, "rooms left live by the previous round"
        for _ in range(100):  # other web processes see the previous round's end within a second
            if await _api_live_count(stack.base) == 0:
                break
            await asyncio.sleep(0.1)
        started = time.perf_counter()
        publishes = asyncio.gather(
            *(
                _hook(stack.base, "publish", key, round_no * 1000 + n, started)
                for n, (_, key) in enumerate(stack.rooms)
            )
        )
        live_db = live_api = None
        while live_db is None or live_api is None:
            await asyncio.sleep(POLL_S)
            elapsed = time.perf_counter() - started
            if elapsed > GIVE_UP_S:
                raise SystemExit(f"{stack.label}: not all live after {GIVE_UP_S} s")
            if live_db is None and await _db_live_count(conn, room_ids) == ENCODERS:
                live_db = time.perf_counter() - started
            if live_api is None and await _api_live_count(stack.base) >= ENCODERS:
                live_api = time.perf_counter() - started
        answers = await publishes
    refused = sorted({status for status, _ in answers if status != 302})
    if refused:
        raise SystemExit(f"{stack.label}: publish answered {refused} instead of 302")
    return live_db, live_api, [elapsed for _, elapsed in answers]


async def end_all(stack: Stack, round_no: int) -> None:
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _hook(stack.base, "publish_done", key, round_no * 1000 + n, started)
            for n, (_, key) in enumerate(stack.rooms)
        )
    )


def settle(stack: Stack) -> None:
    """Wait until the worker has drained the follow-ups (its CPU stops moving)."""
    last = process_tree_cpu_seconds(stack.worker_pid)
    for _ in range(60):
        time.sleep(1)
        now = process_tree_cpu_seconds(stack.worker_pid)
        if now - last < 0.02:
            return
        last = now


def postgres_pid() -> int | None:
    pid_file = Path(os.environ.get("BENCH_TMP", "/nonexistent")) / "pg" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def measure(stacks: list[Stack]) -> None:
    pg_pid = postgres_pid()

    def cpu_now(stack: Stack) -> dict[str, float]:
        return {
            "web": process_tree_cpu_seconds(stack.web_pid),
            "worker": process_tree_cpu_seconds(stack.worker_pid),
            "postgres": process_tree_cpu_seconds(pg_pid) if pg_pid else 0.0,
        }

    for stack in stacks:  # warm-up: connections, caches, code paths
        uvloop.run(storm(stack, 1))
        uvloop.run(end_all(stack, 1))
        settle(stack)
    for round_no in range(2, ROUNDS + 2):
        for stack in stacks:
            before = cpu_now(stack)
            gc.collect()
            gc.disable()  # the load generator's own collections would count as server time
            try:
                live_db, live_api, answers = uvloop.run(storm(stack, round_no))
            finally:
                gc.enable()
            settle(stack)
            after = cpu_now(stack)
            stack.cpu = {name: spent + after[name] - before[name] for name, spent in stack.cpu.items()}
            stack.live_db_s.append(live_db)
            stack.live_api_s.append(live_api)
            stack.answers_s.extend(answers)
            print(
                f"{stack.label}: round {round_no - 1}: all {ENCODERS} live in the database after "
                f"{live_db:.2f} s, in the API after {live_api:.2f} s; answers p50 "
                f"{statistics.median(answers) * 1000:.0f} ms, max {max(answers) * 1000:.0f} ms",
                flush=True,
            )
            uvloop.run(end_all(stack, round_no))
            settle(stack)


def report(stacks: list[Stack]) -> None:
    for stack in stacks:
        publishes = ENCODERS * len(stack.live_db_s)
        cpu = ", ".join(f"{name} {spent * 1000 / publishes:.1f} ms" for name, spent in stack.cpu.items())
        answers = [s * 1000 for s in stack.answers_s]
        verdict = "met" if max(stack.live_api_s) <= GOAL_S else "NOT met"
        print(
            f"{stack.label}: {ENCODERS} encoders at once, {len(stack.live_db_s)} rounds: all live in the "
            f"database after {statistics.median(stack.live_db_s):.2f} s median / {max(stack.live_db_s):.2f} s "
            f"max; in the API after {statistics.median(stack.live_api_s):.2f} s median / "
            f"{max(stack.live_api_s):.2f} s max (goal ≤ {GOAL_S:.0f} s: {verdict}); none refused"
        )
        print(
            f"{stack.label}: on_publish answers p50 {statistics.median(answers):.0f} ms, "
            f"p99 {percentile(answers, 99):.0f} ms, max {max(answers):.0f} ms"
        )
        print(f"{stack.label}: CPU per publish (storm and its follow-ups): {cpu}")


def main() -> None:
    before = os.environ.get("STORM_BENCH_BEFORE")
    with ExitStack() as stack:
        stacks = []
        if before:
            cwd = stack.enter_context(checkout_of(before))
            redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1"
            env = {
                **os.environ,
                "DATABASE_URL": _other_database(os.environ["DATABASE_URL"], "storm_before"),
                "REDIS_URL": redis_url,
            }
            env.pop("CELERY_BROKER_URL", None)
            stacks.append(Stack(label=f"before ({before})", cwd=cwd, env=env))
        stacks.append(Stack(label="after" if before else "this checkout", cwd=ROOT, env=dict(os.environ)))
        for one in stacks:
            prepare(one)
            stack.enter_context(running(one))
        measure(stacks)
        report(stacks)


if __name__ == "__main__":
    main()
