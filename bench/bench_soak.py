"""Soak: the stack exactly as `make run` starts it (scripts/run.sh, in a folder of its own), then ordinary
use by many people at once for SOAK_SECONDS: page and API clients browsing, chat viewers and senders,
streamers publishing and stopping with ffmpeg, their VODs processing, followers' notification sockets.

Reports what the issue asks for: 5xx answers, tracebacks in every process log, rooms idle within 5 s of
their publisher stopping, notification pushes received against those created. Prints one JSON line last
(`soak: {...}`) that tests/e2e/test_soak.py reads for its short version.
"""

import asyncio
import json
import os
import random
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from stack import Stack

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("SOAK_SECONDS", 600))
PAGE_CLIENTS = int(os.environ.get("SOAK_PAGE_CLIENTS", 50))
VIEWERS = int(os.environ.get("SOAK_VIEWERS", 300))
SENDERS = int(os.environ.get("SOAK_SENDERS", 20))
STREAMERS = int(os.environ.get("SOAK_STREAMERS", 5))
LISTENERS = int(os.environ.get("SOAK_LISTENERS", 20))
CYCLE_S = float(os.environ.get("SOAK_CYCLE_S", 60))
LIVE_S = float(os.environ.get("SOAK_LIVE_S", 40))
IDLE_GOAL_S = 5.0
# The senders stay under the chat's sustained rate (CHAT_BUCKET_REFILL_PER_S, 0.5/s per user and room).
SEND_EVERY_S = 2.5

FFMPEG = [
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=426x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-c:a", "aac", "-f", "flv",
]  # fmt: skip


@dataclass
class Tally:
    http: int = 0
    http_5xx: list = field(default_factory=list)
    http_errors: int = 0
    chat_sent: int = 0
    chat_acked: int = 0
    chat_errors: dict = field(default_factory=dict)
    viewer_events: int = 0
    viewer_drops: int = 0
    pushes: dict = field(default_factory=dict)  # user id -> notification ids received
    idle_after_stop: list = field(default_factory=list)  # seconds from the encoder's stop to idle
    idle_missed: int = 0
    go_lives: int = 0
    listening: set = field(default_factory=set)  # listeners subscribed at least once
    listener_reconnects: int = 0
    go_live_failed: int = 0


async def http_get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n".encode())
    data = await reader.read(-1)
    writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


async def page_client(stack, world, tally: Tally, index: int, until: float) -> None:
    """Half browse pages anonymously, half use the API signed in."""
    port = stack.ports["WEB_PORT"]
    rng = random.Random(index)
    signed_in = index % 2 == 1
    while time.monotonic() < until:
        room = rng.choice(world.room_ids)
        if signed_in:
            path = rng.choice(
                ["/api/me/", "/api/rooms/?status=live", f"/api/rooms/{room}/", "/api/notifications/",
                 f"/api/vods/?room={room}", f"/api/rooms/{room}/messages/?limit=20"]
            )  # fmt: skip
            token = world.token(world.api_users[index % len(world.api_users)])
        else:
            path = rng.choice(["/", f"/rooms/{room}/", f"/u/{world.streamer_names[0]}/", "/search/?q=soak",
                               f"/c/{world.category}/", "/healthz"])  # fmt: skip
            token = None
        try:
            status, _ = await http_get(port, path, token)
            tally.http += 1
            if status >= 500:
                tally.http_5xx.append(f"{status} {path}")
        except OSError:
            tally.http_errors += 1
        await asyncio.sleep(rng.uniform(0.5, 1.5))


def ws_url(stack, path: str) -> tuple[str, str]:
    return f"ws://127.0.0.1:{stack.ports['WEB_PORT']}{path}", stack.web


async def viewer(stack, tally: Tally, room_id: int, until: float) -> None:
    url, origin = ws_url(stack, f"/ws/rooms/{room_id}/")
    while time.monotonic() < until:
        try:
            async with websockets.connect(url, origin=origin, ping_interval=None, close_timeout=1) as ws:
                while time.monotonic() < until:
                    try:
                        frame = json.loads(
                            await asyncio.wait_for(ws.recv(), timeout=until - time.monotonic())
                        )
                    except TimeoutError:
                        return
                    tally.viewer_events += len(frame.get("events", [frame]))
        except (OSError, websockets.ConnectionClosed):
            tally.viewer_drops += 1
            await asyncio.sleep(1)


async def sender(stack, world, tally: Tally, index: int, until: float) -> None:
    room_id = world.room_ids[index % len(world.room_ids)]
    url, origin = ws_url(stack, f"/ws/rooms/{room_id}/")
    user = world.senders[index]
    count = 0
    while time.monotonic() < until:
        headers = {"Authorization": f"Bearer {world.token(user)}"}
        try:
            async with websockets.connect(
                url, origin=origin, additional_headers=headers, ping_interval=None, close_timeout=1
            ) as ws:

                async def read():
                    async for raw in ws:
                        for event in json.loads(raw).get("events", []):
                            if event.get("type") == "ack":
                                tally.chat_acked += 1
                            elif event.get("type") == "error":
                                code = event.get("code", "?")
                                tally.chat_errors[code] = tally.chat_errors.get(code, 0) + 1

                reading = asyncio.create_task(read())
                while time.monotonic() < until:
                    count += 1
                    kind = "danmaku" if count % 3 == 0 else "chat"
                    await ws.send(json.dumps({"type": kind, "text": f"soak {index} #{count}",
                                              "client_id": f"{index}-{count}"}))  # fmt: skip
                    tally.chat_sent += 1
                    await asyncio.sleep(SEND_EVERY_S)
                await asyncio.sleep(1)
                reading.cancel()
        except (OSError, websockets.ConnectionClosed):
            await asyncio.sleep(1)


async def listener(stack, world, tally: Tally, user, until: float) -> None:
    url, origin = ws_url(stack, "/ws/notifications/")
    received = tally.pushes.setdefault(user.pk, set())
    while time.monotonic() < until:
        headers = {"Authorization": f"Bearer {world.token(user)}"}
        try:
            async with websockets.connect(
                url, origin=origin, additional_headers=headers, ping_interval=None, close_timeout=1
            ) as ws:
                while time.monotonic() < until:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=until - time.monotonic())
                    except TimeoutError:
                        return
                    event = json.loads(raw)
                    if event.get("type") == "notification" and event.get("id"):
                        received.add(event["id"])
                    elif event.get("type") == "unread" and user.pk not in tally.listening:
                        tally.listening.add(user.pk)  # sent once subscribed: pushes reach it from now on
        except (OSError, websockets.ConnectionClosed):
            tally.listener_reconnects += 1
            await asyncio.sleep(0.5)


async def room_status(stack, room_id: int) -> str | None:
    try:
        status, body = await http_get(stack.ports["WEB_PORT"], f"/api/rooms/{room_id}/")
    except OSError:
        return None
    return json.loads(body).get("status") if status == 200 else None


async def streamer(stack, world, tally: Tally, index: int, until: float) -> None:
    """Publish for LIVE_S, stop, wait for the cycle's end; each streamer offset so stops are spread."""
    room_id, key = world.room_ids[index], world.keys[index]
    rtmp = f"rtmp://127.0.0.1:{stack.ports['RTMP_PORT']}/live/{key}"
    await asyncio.sleep(index * CYCLE_S / max(STREAMERS, 1) / 2)
    while time.monotonic() + LIVE_S + IDLE_GOAL_S * 2 < until:
        cycle_end = time.monotonic() + CYCLE_S
        encoder = await asyncio.create_subprocess_exec(
            *FFMPEG, rtmp, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        tally.go_lives += 1
        live_deadline = time.monotonic() + 15
        while await room_status(stack, room_id) != "live" and time.monotonic() < live_deadline:
            await asyncio.sleep(0.25)
        if time.monotonic() >= live_deadline:
            tally.go_live_failed += 1
        await asyncio.sleep(max(0.0, LIVE_S - 15 + (live_deadline - time.monotonic())))
        encoder.terminate()
        stopped = time.monotonic()
        await encoder.wait()
        idle_at = None
        while time.monotonic() - stopped < IDLE_GOAL_S * 4:
            if await room_status(stack, room_id) == "idle":
                idle_at = time.monotonic()
                break
            await asyncio.sleep(0.1)
        if idle_at is None:
            tally.idle_missed += 1
        else:
            tally.idle_after_stop.append(idle_at - stopped)
        await asyncio.sleep(max(0.0, cycle_end - time.monotonic()))


class World:
    """The people of the soak, made in the stack's database through the app's own services."""

    def __init__(self):
        from django.contrib.auth import get_user_model
        from rest_framework_simplejwt.tokens import AccessToken

        from rooms.models import Category
        from rooms.services import follow_create, room_create

        User = get_user_model()
        self._access = AccessToken
        self._tokens: dict[int, tuple[float, str]] = {}

        def user(name: str):
            made = User.objects.create(username=name, email=f"{name}@example.org")
            made.set_unusable_password()
            made.save(update_fields=["password"])
            return made

        stamp = int(time.time()) % 100000
        category = Category.objects.order_by("pk").first()
        self.category = category.slug if category else "none"
        self.streamers = [user(f"soak{stamp}s{i}") for i in range(STREAMERS)]
        self.streamer_names = [streamer.username for streamer in self.streamers]
        rooms = [
            room_create(owner=s, title=f"Soak room {i}", category=category)
            for i, s in enumerate(self.streamers)
        ]
        self.room_ids = [room.pk for room in rooms]
        self.keys = [room.stream_keys.get(revoked_at__isnull=True).secret for room in rooms]
        self.senders = [user(f"soak{stamp}c{i}") for i in range(SENDERS)]
        self.api_users = [user(f"soak{stamp}a{i}") for i in range(max(1, PAGE_CLIENTS // 2))]
        self.listeners = [user(f"soak{stamp}n{i}") for i in range(LISTENERS)]
        for follower in self.listeners:
            for followed in self.streamers:
                follow_create(follower=follower, followed=followed)

    def token(self, user) -> str:
        made, token = self._tokens.get(user.pk, (0.0, ""))
        if time.monotonic() - made > 60:
            token = str(self._access.for_user(user))
            self._tokens[user.pk] = (time.monotonic(), token)
        return token


async def load(stack, world, tally: Tally) -> dict[str, int]:
    """The timed load; the notification sockets stay until the last VODs are processed, so every push
    created meanwhile (new VODs come after their stream) had a socket to reach."""
    listening = [
        asyncio.create_task(listener(stack, world, tally, user, time.monotonic() + 3600))
        for user in world.listeners
    ]
    # The followers are online before anyone goes live, as the pushes they should get are counted.
    deadline = time.monotonic() + 60
    while len(tally.listening) < len(world.listeners) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    until = time.monotonic() + SECONDS
    await asyncio.gather(
        *(page_client(stack, world, tally, i, until) for i in range(PAGE_CLIENTS)),
        *(viewer(stack, tally, world.room_ids[i % len(world.room_ids)], until) for i in range(VIEWERS)),
        *(sender(stack, world, tally, i, until) for i in range(SENDERS)),
        *(streamer(stack, world, tally, i, until) for i in range(STREAMERS)),
    )
    vods = await asyncio.to_thread(settle_vods, world, 120)
    await asyncio.sleep(3)  # the last pushes
    for task in listening:
        task.cancel()
    await asyncio.gather(*listening, return_exceptions=True)
    return vods


# Plain or JSON lines (a JSON log carries the traceback inside a string, so no line anchor).
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
ERROR_LINE = re.compile(
    r'"level": "(?:ERROR|CRITICAL)"|\b(?:ERROR|CRITICAL)/\w+\]|^\S+ \S+ (?:ERROR|CRITICAL) ', re.M
)
ACCESS_5XX = re.compile(r'streamlite\.access \S+ \S+ 5\d\d\b|"status": 5\d\d\b')


def settle_vods(world, timeout: float) -> dict[str, int]:
    """Wait for the worker to finish the soak's recordings, then count VODs by status."""
    from vod.models import Vod

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Vod.objects.filter(room_id__in=world.room_ids, status=Vod.Status.PROCESSING).exists():
            break
        time.sleep(1)
    counts: dict[str, int] = {}
    for status in Vod.objects.filter(room_id__in=world.room_ids).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def pushes_created(world, since) -> dict[int, set[int]]:
    from notifications.models import Notification

    created: dict[int, set[int]] = {user.pk: set() for user in world.listeners}
    rows = Notification.objects.filter(recipient_id__in=created, created_at__gte=since)
    for recipient_id, pk in rows.values_list("recipient_id", "pk"):
        created[recipient_id].add(pk)
    return created


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="streamlite-soak."))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach var/services/pg
    stack = Stack(folder)
    print(f"soak: make run in {folder}, {SECONDS:.0f} s: {PAGE_CLIENTS} page/API clients, {VIEWERS} viewers, "
          f"{SENDERS} senders, {STREAMERS} streamers (live {LIVE_S:.0f} s of every {CYCLE_S:.0f} s), "
          f"{LISTENERS} notification sockets", flush=True)  # fmt: skip
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    try:
        stack.start()
        stack.django()
        from django.db import connections
        from django.utils import timezone

        since = timezone.now()
        world = World()
        tally = Tally()
        started = time.monotonic()
        vods = asyncio.run(load(stack, world, tally))
        elapsed = time.monotonic() - started
        created = pushes_created(world, since)
        connections.close_all()
    finally:
        stack.stop()
        logs = stack.logs()  # after the stop: a fault while shutting down counts too
        if not os.environ.get("SOAK_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)
    received = sum(len(tally.pushes.get(pk, set()) & ids) for pk, ids in created.items())
    sent = sum(len(ids) for ids in created.values())
    tracebacks = {name: len(TRACEBACK.findall(text)) for name, text in logs.items() if TRACEBACK.search(text)}
    logged_5xx = sum(len(ACCESS_5XX.findall(text)) for text in logs.values())
    # nginx-rtmp's error.log has its own levels (each relay push is logged as an error): ours only.
    errors_logged = {
        n: len(ERROR_LINE.findall(t)) for n, t in logs.items() if n != "error.log" and ERROR_LINE.search(t)
    }
    # The first few of each log, so a failing run says what went wrong without its folder.
    error_examples = {
        name: [line[:500] for line in logs[name].splitlines() if ERROR_LINE.search(line)][:3]
        for name in errors_logged
    }
    idle = sorted(tally.idle_after_stop)
    result = {
        "seconds": round(elapsed),
        "load_before": load_before,
        "load_after": Path("/proc/loadavg").read_text().split()[:3],
        "http_requests": tally.http,
        "http_5xx": len(tally.http_5xx),
        "http_5xx_examples": tally.http_5xx[:5],
        "http_errors": tally.http_errors,
        "logged_5xx": logged_5xx,
        "tracebacks": tracebacks,
        "errors_logged": errors_logged,
        "error_examples": error_examples,
        "stops": len(idle) + tally.idle_missed,
        "idle_within_5s": sum(1 for s in idle if s <= IDLE_GOAL_S),
        "idle_max_s": round(idle[-1], 2) if idle else None,
        "idle_p50_s": round(idle[len(idle) // 2], 2) if idle else None,
        "go_lives": tally.go_lives,
        "go_live_failed": tally.go_live_failed,
        "pushes_created": sent,
        "pushes_received": received,
        "listener_reconnects": tally.listener_reconnects,
        "chat_sent": tally.chat_sent,
        "chat_acked": tally.chat_acked,
        "chat_answered": tally.chat_acked + sum(tally.chat_errors.values()),
        "chat_errors": tally.chat_errors,
        "viewer_events": tally.viewer_events,
        "viewer_reconnects": tally.viewer_drops,
        "vods": vods,
    }
    print(
        f"5xx: {result['http_5xx']} answered, {logged_5xx} logged, of {tally.http} requests "
        f"({tally.http_errors} connection errors)\n"
        f"tracebacks: {sum(tracebacks.values())} {tracebacks}; error lines: {errors_logged}\n"
        f"rooms idle within 5 s of the encoder stopping: {result['idle_within_5s']}/{result['stops']} "
        f"(p50 {result['idle_p50_s']} s, max {result['idle_max_s']} s); go-lives {tally.go_lives}, "
        f"{tally.go_live_failed} not live within 15 s\n"
        f"notification pushes received/created: {received}/{sent} ({tally.listener_reconnects} reconnects)\n"
        f"chat sent {tally.chat_sent}, acked {tally.chat_acked}, errors {tally.chat_errors}; viewer events "
        f"{tally.viewer_events}, viewer reconnects {tally.viewer_drops}\nVODs by status: {vods}\n"
        f"load average before {' '.join(load_before)}, after {' '.join(result['load_after'])}"
    )
    print("soak: " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
