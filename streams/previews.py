"""Live previews: every PREVIEW_INTERVAL_S a frame of each live stream becomes its room's card picture.

The frame is the first (key)frame of the newest fragment the ingest already wrote, so ffmpeg decodes one
frame per room and interval rather than the stream. The stream keeps its last frame after it ends.
"""

import logging
import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from rooms.models import Room
from streams.hls import live_fragments
from streams.models import Stream

logger = logging.getLogger(__name__)

PREVIEW_WIDTH = 640
FRAME_TIMEOUT_S = 10


def frame_write(*, source: Path, target: Path) -> bool:
    """A JPEG of the fragment's first frame; False when ffmpeg could not take one."""
    try:
        # Fixed program and arguments; the source is a fragment listed by the ingest's own playlist.
        subprocess.run(  # noqa: S603
            ["nice", "-n", str(settings.CLIP_NICENESS),  # noqa: S607
             "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
             "-frames:v", "1", "-vf", f"scale={PREVIEW_WIDTH}:-2", "-q:v", "5", str(target)],
            capture_output=True, timeout=FRAME_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return target.is_file() and target.stat().st_size > 0


def stream_preview_capture(*, stream: Stream) -> str | None:
    """Take a fresh frame of a live stream; returns the stored name, or None when there is no fragment."""
    fragments = live_fragments(public_name=stream.room.public_name)
    if not fragments:
        return None
    with tempfile.TemporaryDirectory(prefix="preview-") as folder:
        target = Path(folder) / "frame.jpg"
        if not frame_write(source=fragments[-1].path, target=target):
            logger.warning("no preview frame for stream %s", stream.pk)
            return None
        with target.open("rb") as content:
            # A new name per frame: browsers and CDNs never show a cached older one.
            name = default_storage.save(
                f"previews/{stream.room_id}/{stream.pk}-{time.time_ns()}.jpg", File(content, name="frame.jpg")
            )
    previous = stream.preview.name
    Stream.objects.filter(pk=stream.pk).update(preview=name)
    # An update, not a save: the room lists pick the new picture up within their few seconds of caching
    # instead of being rebuilt for every frame of every room.
    Room.objects.filter(pk=stream.room_id, status=Room.Status.LIVE).update(preview=name)
    if previous and previous != name:
        default_storage.delete(previous)
    return name


def stream_previews_capture() -> int:
    """A frame of every live stream; returns how many were taken."""
    taken = 0
    for stream in Stream.objects.filter(status=Stream.Status.LIVE).select_related("room"):
        if stream_preview_capture(stream=stream):
            taken += 1
    return taken
