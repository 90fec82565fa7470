"""Clip ready time for 30 s of 720p (goal ≤ 3 s) and live-preview CPU per live room per minute.

The ingest's output is made by ffmpeg as nginx-rtmp writes it: 1 s MPEG-TS fragments of H.264 720p30
(x264 veryfast, keyframe every second, 3000 kbps) + AAC, `<name>-<n>.ts` and a playlist under HLS_ROOT.
- Clip: the API's service makes the row, then clips.services.clip_process runs exactly as the worker does
  (fragments chosen, ffmpeg -c copy into HLS, thumbnail, upload to the default storage, publish).
  Timed from the request to the ready row, RUNS times.
- Preview: streams.previews.stream_preview_capture as the beat task runs it for one room; the CPU is that
  of its ffmpeg children (getrusage) plus this process, per capture and per minute at PREVIEW_INTERVAL_S.
"""

import resource
import statistics
import subprocess
import time
from pathlib import Path

from common import ROOT  # noqa: F401 (sets Django up)
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from clips.models import Clip
from clips.services import clip_create_live, clip_process
from rooms.models import Room
from rooms.services import room_create
from streams.models import Stream
from streams.previews import stream_preview_capture

SECONDS = 60
CLIP_S = 30
RUNS = 5
PREVIEWS = 20


def live_fragments_write(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3000k", "-g", "30", "-keyint_min", "30",
         "-c:a", "aac", "-shortest", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
         "-hls_segment_filename", str(folder / f"{name}-%d.ts"), str(folder / f"{name}.m3u8")],
        check=True,
    )  # fmt: skip


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    user, _ = User.objects.get_or_create(username="clipbench", defaults={"email": "clipbench@example.com"})
    room = user.rooms.first() or room_create(owner=user, title="Clip bench")
    Stream.objects.filter(room=room, status=Stream.Status.LIVE).update(
        status=Stream.Status.ENDED, ended_at=timezone.now()
    )
    stream = Stream.objects.create(room=room, started_at=timezone.now())
    Room.objects.filter(pk=room.pk).update(status=Room.Status.LIVE, live_started_at=stream.started_at)
    room.refresh_from_db()
    live_fragments_write(Path(settings.HLS_ROOT), room.public_name)
    print(f"live fragments: {SECONDS} s of 1280x720 at 30 fps, 1 s fragments; "
          f"storage: {settings.STORAGES['default']['BACKEND']}")  # fmt: skip

    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        clip = clip_create_live(room=room, user=user, seconds=CLIP_S)
        clip = clip_process(clip_id=clip.pk)
        times.append(time.perf_counter() - started)
        assert clip.status == Clip.Status.READY, clip.failure_reason
    print(
        f"clip of the last {CLIP_S} s → ready: min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s over {RUNS} runs (clip lasts {clip.duration_s:.2f} s); goal ≤ 3 s"
    )

    cpu_before, own_before = children_cpu_s(), time.process_time()
    started = time.perf_counter()
    for _ in range(PREVIEWS):
        assert stream_preview_capture(stream=Stream.objects.select_related("room").get(pk=stream.pk))
    wall = (time.perf_counter() - started) / PREVIEWS
    cpu = (children_cpu_s() - cpu_before + time.process_time() - own_before) / PREVIEWS
    per_minute = cpu * 60 / settings.PREVIEW_INTERVAL_S
    print(
        f"live preview: {cpu * 1000:.0f} ms CPU ({wall * 1000:.0f} ms wall) per frame; every "
        f"{settings.PREVIEW_INTERVAL_S} s that is {per_minute:.2f} CPU-s per live room per minute "
        f"({100 * per_minute / 60:.2f} % of one core)"
    )
    Room.objects.filter(pk=room.pk).update(status=Room.Status.IDLE)
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.ENDED, ended_at=timezone.now())


if __name__ == "__main__":
    main()
