"""CPU of the live quality ladder: CPU-seconds per minute of one stream's transcoder, for each rung alone
and for the whole ladder, on this machine.

The chain is the real one: ffmpeg publishes a 1280x720 30 fps test pattern (x264 veryfast/zerolatency,
as OBS would) to nginx-rtmp; the ladder supervisor (streams.transcoder, run in this process as a worker
runs it) starts the transcoder, which decodes the source once and encodes each rung with x264 veryfast.
Once its master playlist is served, the transcoder's user + system CPU time (/proc) is read at the start
and the end of BENCH_LADDER_SECONDS (default 30) and scaled to one minute. Each ladder is a stream of its
own (the supervisor starts a transcoder per stream), so the figures include one decode of the source each.
"""

import os
import time

from common import process_tree_cpu_seconds
from ingest import ingest, ladder, publish, stop, wait_ladder_running, wait_status

from accounts.models import User
from rooms.selectors import stream_key_active
from rooms.services import room_create

SECONDS = int(os.environ.get("BENCH_LADDER_SECONDS", "30"))
SOURCE = "1280x720"
RUNGS = {
    "480p": "480p 480 1000 96",
    "360p": "360p 360 600 64",
    "240p": "240p 240 300 48",
}
LADDERS = [*([name] for name in RUNGS), list(RUNGS)]


def measure(stack, room, key: str, rungs: list[str]) -> float:
    encoder = publish(stack.publish_url(key), size=SOURCE)
    try:
        wait_status(room, "live")
        with ladder(stack, "\n".join(RUNGS[name] for name in rungs)):
            pid = wait_ladder_running(room)
            before, started = process_tree_cpu_seconds(pid), time.monotonic()
            time.sleep(SECONDS)
            used, elapsed = process_tree_cpu_seconds(pid) - before, time.monotonic() - started
    finally:
        stop(encoder)
    wait_status(room, "idle")
    return used * 60 / elapsed


def main() -> None:
    user, _ = User.objects.get_or_create(username="bench-ladder", defaults={"email": "ladder@example.com"})
    room = user.rooms.first() or room_create(owner=user, title="Ladder CPU")
    key = stream_key_active(room=room).secret
    load = os.getloadavg()
    print(f"ladder CPU, {SOURCE} 30 fps source, {SECONDS} s per ladder, {os.cpu_count()} cores, "
          f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}:")  # fmt: skip
    with ingest() as stack:
        for rungs in LADDERS:
            per_minute = measure(stack, room, key, rungs)
            print(f"  {'+'.join(rungs):<16} {per_minute:6.1f} CPU-s per minute ({per_minute / 60:.2f} cores)")
    load = os.getloadavg()
    print(f"  load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
