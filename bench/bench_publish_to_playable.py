"""Time from an encoder starting to publish until viewers can play (goal: ≤ 3 s), through real nginx-rtmp.

Each run starts ffmpeg (test pattern, x264 veryfast/zerolatency, a keyframe every second, -re) publishing
to the room's key and polls the public playlist over nginx's HTTP every 50 ms. The stream counts as
playable at the first fetch that lists a segment this publish wrote and ffprobe reads the newest listed
segment as h264; the figure is the time from starting ffmpeg to that fetch (ffprobe's own time is left out, it is
our check, not the viewer's wait). Then ffmpeg stops, the room goes idle, and the same room publishes
again: a streamer's restart. nginx-rtmp leaves the last playlist of a stream that ended in place and
numbers a new publish's fragments from 0 again, so a playlist counts only once it differs from the one
served before ffmpeg started.
"""

import statistics
import subprocess
import time
import urllib.error
import urllib.request

from ingest import ingest, publish, stop, wait_status

from accounts.models import User
from rooms.models import Room
from rooms.selectors import stream_key_active
from rooms.services import room_create

RUNS = 5
POLL_S = 0.05
TIMEOUT_S = 20


def playlist(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL we built)
            return response.read().decode()
    except urllib.error.URLError:
        return ""


def segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def is_h264(url: str) -> bool:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
         "-of", "csv=p=0", url],
        capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    # One line per program and per stream.
    return set(probe.stdout.split()) == {"h264"}


def one_run(publish_url: str, playlist_url: str, room: Room) -> tuple[float, float]:
    """Seconds from starting ffmpeg to the room being live (the hook) and to a playable playlist."""
    before = playlist(playlist_url)
    started = time.perf_counter()
    ffmpeg = publish(publish_url)
    live_at = None
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            if live_at is None and Room.objects.values_list("status", flat=True).get(pk=room.pk) == "live":
                live_at = time.perf_counter() - started
            text = playlist(playlist_url)
            fetched_at = time.perf_counter() - started
            listed = segments(text)
            if text != before and listed and is_h264(playlist_url.rsplit("/", 1)[0] + "/" + listed[-1]):
                return live_at or fetched_at, fetched_at
            if ffmpeg.poll() is not None:
                raise SystemExit(f"ffmpeg exited: {ffmpeg.stderr.read().decode()[-2000:]}")
            time.sleep(POLL_S)
        raise SystemExit(f"no playable playlist within {TIMEOUT_S} s")
    finally:
        stop(ffmpeg)
        wait_status(room, "idle")


def main() -> None:
    user, _ = User.objects.get_or_create(
        username="bench-playable", defaults={"email": "playable@example.com"}
    )
    room = user.rooms.first() or room_create(owner=user, title="Publish to playable")
    key = stream_key_active(room=room).secret
    live, playable = [], []
    with ingest() as stack:
        for _ in range(RUNS):
            went_live, played = one_run(stack.publish_url(key), stack.hls_url(room.public_name), room)
            live.append(went_live)
            playable.append(played)
            print(f"  run: live after {went_live:.2f} s, playable after {played:.2f} s")
    print(
        f"publish → room live (hook): min={min(live):.2f} s median={statistics.median(live):.2f} s "
        f"max={max(live):.2f} s"
    )
    print(
        f"publish → playable playlist, {RUNS} runs: min={min(playable):.2f} s "
        f"median={statistics.median(playable):.2f} s max={max(playable):.2f} s (goal ≤ 3 s)"
    )


if __name__ == "__main__":
    main()
