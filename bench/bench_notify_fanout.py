"""Go-live fan-out to 100,000 followers (goal ≤ 10 s): every notification stored and every online push sent.

The followers (users and follows) are bulk-inserted. 1,000 of them, spread over the list, are online: a
separate listener process registers them in Redis presence as the websocket consumer does, joins
each one's `user_<id>` group on the real Redis channel layer with a channel of its own, and counts the
pushes it receives. Each run opens a new stream (the previous one ended an hour earlier, so it is not a
reconnect) and calls the worker's task body; the clock stops when the task has returned (every row
committed, every group_send done) and when the listener has received all 1,000 pushes.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from common import ROOT
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification
from rooms.models import Follow, Room
from streams.models import Stream

FOLLOWERS = int(os.environ.get("BENCH_FANOUT_FOLLOWERS", 100_000))
ONLINE = int(os.environ.get("BENCH_FANOUT_ONLINE", 1_000))
RUNS = int(os.environ.get("BENCH_FANOUT_RUNS", 3))
INSERT_BATCH = 10_000


def make_world() -> tuple[Room, list[int]]:
    streamer, _ = User.objects.get_or_create(
        username="fanout-streamer", defaults={"email": "fanout@example.com"}
    )
    room = Room.objects.filter(owner=streamer).first() or Room.objects.create(owner=streamer, title="Fan-out")
    existing = Follow.objects.filter(followed=streamer).count()
    if existing < FOLLOWERS:
        password = make_password(None)  # unusable: these users never log in
        start = time.perf_counter()
        for offset in range(existing, FOLLOWERS, INSERT_BATCH):
            names = range(offset, min(offset + INSERT_BATCH, FOLLOWERS))
            users = User.objects.bulk_create(
                User(username=f"fan{n}", email=f"fan{n}@example.com", password=password) for n in names
            )
            Follow.objects.bulk_create(Follow(follower=user, followed=streamer) for user in users)
        print(
            f"setup: {FOLLOWERS - existing} users and follows bulk-inserted in {time.perf_counter() - start:.1f} s"
        )
        # A live site's tables have planner statistics; freshly bulk-loaded ones get them from autovacuum later.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    ids = list(
        Follow.objects.filter(followed=streamer).order_by("follower_id").values_list("follower_id", flat=True)
    )
    step = max(1, len(ids) // ONLINE)
    return room, ids[::step][:ONLINE]


def new_stream(room: Room) -> Stream:
    now = timezone.now()
    Stream.objects.filter(room=room, status=Stream.Status.LIVE).update(
        status=Stream.Status.ENDED, started_at=now - timedelta(hours=2), ended_at=now - timedelta(hours=1)
    )
    Room.objects.filter(pk=room.pk).update(status=Room.Status.LIVE)
    return Stream.objects.create(room=room, started_at=now, client_id="bench")


async def listen(user_ids: list[int], runs: int) -> None:
    """The listener process: online users with a channel each; prints when each run's pushes all arrived."""
    from channels.layers import get_channel_layer

    from notifications import events
    from notifications.selectors import ONLINE_SCOPE
    from streamlite.presence import presence_current

    layer = get_channel_layer()
    channels = {}
    for pk in user_ids:
        channels[pk] = await layer.new_channel()
        await layer.group_add(events.user_group_name(pk), channels[pk])
        await presence_current().join(ONLINE_SCOPE, str(pk))
    print(json.dumps({"ready": True}), flush=True)
    for _ in range(runs):
        received = await asyncio.gather(*(layer.receive(channel) for channel in channels.values()))
        assert all(message["type"] == "notification.pushed" for message in received)
        print(json.dumps({"all_received_at": time.time(), "count": len(received)}), flush=True)
    for pk in user_ids:
        await presence_current().leave(ONLINE_SCOPE, str(pk))


def main() -> None:
    from notifications.services import notifications_for_live_start

    room, online = make_world()
    listener = subprocess.Popen(
        [sys.executable, __file__, "--listen", ",".join(map(str, online)), str(RUNS)],
        cwd=ROOT / "bench",
        stdout=subprocess.PIPE,
        text=True,
    )
    assert json.loads(listener.stdout.readline()) == {"ready": True}
    stored, pushed = [], []
    for run in range(RUNS):
        stream = new_stream(room)
        load = os.getloadavg()[0]
        started, cpu_started = time.time(), time.process_time()
        processed = notifications_for_live_start(stream_id=stream.pk)
        stored.append(time.time() - started)
        cpu = time.process_time() - cpu_started
        received = json.loads(listener.stdout.readline())
        pushed.append(received["all_received_at"] - started)
        count = Notification.objects.filter(stream=stream).count()
        assert processed == count == FOLLOWERS, (processed, count)
        assert received["count"] == ONLINE
        print(
            f"run {run + 1}: {count} notifications stored and {ONLINE} pushes sent in {stored[-1]:.2f} s; "
            f"all pushes received after {pushed[-1]:.2f} s (task process CPU {cpu:.2f} s, load average {load:.1f})"
        )
    listener.wait(timeout=30)
    print(
        f"fan-out to {FOLLOWERS} followers ({ONLINE} online), {RUNS} runs: "
        f"stored+sent min {min(stored):.2f} s median {statistics.median(stored):.2f} s max {max(stored):.2f} s; "
        f"received max {max(pushed):.2f} s (goal ≤ 10 s: {'met' if max(pushed) <= 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        asyncio.run(listen([int(pk) for pk in sys.argv[2].split(",")], int(sys.argv[3])))
    else:
        main()
