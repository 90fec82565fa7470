"""VOD processing time divided by media duration for a 5-minute 720p recording (goal: remux ≤ 5 %), and
the time of its quality ladder (each rung below the source transcoded from the recording).

Two recordings made by ffmpeg from lavfi sources, as nginx-rtmp would write them (FLV):
- remux path: H.264 (x264 veryfast, keyframe every 2 s) + AAC, processed with `-c copy`;
- transcode path: FLV1 (Sorenson) + MP3, which browsers cannot play, so processing re-encodes with x264.
Each is processed by vod.services.vod_process exactly as the worker does (probe, HLS under nice,
thumbnail, upload to the default storage, publish), against the local media folder. Then the ladder of the
remux path: vod.services.vod_rung_process for each rung of streams.ladder below 720p, one after the other
as the worker's chain of tasks runs them (lowest first). Env: BENCH_VOD_SECONDS [300].
"""

import os
import subprocess
import time
from pathlib import Path

from common import ROOT  # noqa: F401 (sets Django up)
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from rooms.services import room_create
from streams.models import Stream
from vod import services
from vod.models import Vod, VodRendition
from vod.services import vod_process

SECONDS = int(os.environ.get("BENCH_VOD_SECONDS", "300"))
SIZE = "1280x720"
PATHS = {
    "remux (h264/aac, -c copy)": ["-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-c:a", "aac"],
    "transcode (flv1/mp3 → x264 veryfast/aac)": ["-c:v", "flv1", "-q:v", "5", "-c:a", "libmp3lame"],
}


def recording(path: Path, codecs: list[str]) -> Path:
    if not path.exists():
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=30:duration={SECONDS}",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={SECONDS}",
             *codecs, "-shortest", "-f", "flv", str(path)],
            check=True,
        )  # fmt: skip
    return path


def main() -> None:
    root = Path(settings.RECORDINGS_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    user, _ = User.objects.get_or_create(username="vodbench", defaults={"email": "vodbench@example.com"})
    room = user.rooms.first() or room_create(owner=user, title="VOD bench")
    print(f"recording: {SECONDS} s, {SIZE} at 30 fps; storage: {settings.STORAGES['default']['BACKEND']}")
    for n, (name, codecs) in enumerate(PATHS.items()):
        path = recording(root / f"{room.public_name}-bench{n}.flv", codecs)
        now = timezone.now()
        stream = Stream.objects.create(
            room=room, status=Stream.Status.ENDED, started_at=now, ended_at=now, recording_path=str(path)
        )
        started = time.perf_counter()
        vod = vod_process(stream=stream)
        elapsed = time.perf_counter() - started
        assert vod.status == Vod.Status.READY, vod.failure_reason
        print(
            f"{name}: {elapsed:.2f} s for {vod.duration_s} s of video = {100 * elapsed / vod.duration_s:.2f} % "
            f"of the duration ({path.stat().st_size / 1e6:.0f} MB in, {vod.size_bytes / 1e6:.0f} MB stored)"
        )
        if n == 0:
            ladder(vod)
    print("goal: remux ≤ 5 % of the duration")


def ladder(vod: Vod) -> None:
    """Each rung of the VOD, timed alone; the bench drives the chain itself instead of queueing tasks."""
    services._rung_enqueue_next_now = lambda **_: None
    total = 0.0
    for rendition in vod.renditions.order_by("height"):
        started = time.perf_counter()
        made = services.vod_rung_process(rendition_id=rendition.pk)
        elapsed = time.perf_counter() - started
        total += elapsed
        assert made.status == VodRendition.Status.READY, made.failure_reason
        print(
            f"  ladder rung {made.name} ({made.video_kbps}+{made.audio_kbps} kbit/s, x264 veryfast): "
            f"{elapsed:.1f} s = {100 * elapsed / vod.duration_s:.1f} % of the duration"
        )
    print(
        f"  ladder, all rungs one after the other: {total:.1f} s = {100 * total / vod.duration_s:.1f} % of the duration"
    )


if __name__ == "__main__":
    main()
