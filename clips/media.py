"""ffmpeg for clips: cut a run of MPEG-TS fragments into a short HLS clip without re-encoding.

Fragments (the ingest's live ones, or a VOD's stored segments) start on keyframes, so the clip starts on
the first fragment's first frame and ``-c copy`` only has to stop at the right time. Everything writes
into the folder it is given; publishing is the caller's job.
"""

import json
import logging
import subprocess
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from vod.media import PLAYLIST_NAME, MediaError

logger = logging.getLogger(__name__)

SEGMENT_PATTERN = "seg_%05d.ts"
THUMBNAIL_NAME = "thumbnail.jpg"
CUT_TIMEOUT_S = 120
CLIP_SEGMENT_S = 4


def _niced(command: list[str]) -> list[str]:
    return ["nice", "-n", str(settings.CLIP_NICENESS), *command]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        # Fixed programs and arguments; the paths are fragments we chose and our own temporary folder.
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as timeout_error:
        raise MediaError(_("Cutting the clip took too long.")) from timeout_error


def clip_write(*, fragments: list[Path], folder: Path, offset_s: float, seconds: float) -> Path:
    """Cut ``seconds`` starting ``offset_s`` into the joined fragments into HLS in ``folder``."""
    if not fragments:
        raise MediaError(_("There is no video to clip."))
    # MPEG-TS fragments of one stream join byte by byte (ffmpeg's concat protocol).
    source = "concat:" + "|".join(str(path) for path in fragments)
    seek = ["-ss", f"{offset_s:.3f}"] if offset_s > 0 else []
    result = _run(
        _niced(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *seek, "-i", source,
                "-t", f"{seconds:.3f}", "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
                "-f", "hls", "-hls_time", str(CLIP_SEGMENT_S), "-hls_playlist_type", "vod",
                "-hls_segment_filename", str(folder / SEGMENT_PATTERN), str(folder / PLAYLIST_NAME)]),
        CUT_TIMEOUT_S,
    )  # fmt: skip
    playlist = folder / PLAYLIST_NAME
    if result.returncode != 0 or not playlist.exists() or not any(folder.glob("seg_*.ts")):
        logger.warning("clip ffmpeg exited with %s: %s", result.returncode, result.stderr[-2000:])
        raise MediaError(_("The video could not be cut into a clip."))
    return playlist


def duration_of(playlist: Path) -> float:
    """The clip's length as its playlist states it (the sum of its segments)."""
    total = 0.0
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            try:
                total += float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                continue
    return total


def probe_duration(path: Path) -> float:
    """ffprobe's duration of a media file (tests and the benchmark check clips with it)."""
    result = _run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],  # noqa: S607
        CUT_TIMEOUT_S,
    )
    try:
        return float(json.loads(result.stdout or "{}").get("format", {}).get("duration", 0))
    except (TypeError, ValueError):
        return 0.0


def thumbnail_write(*, segment: Path, folder: Path) -> Path | None:
    """A JPEG of the clip's first frame; None when none could be taken (not fatal)."""
    target = folder / THUMBNAIL_NAME
    try:
        subprocess.run(  # noqa: S603 (fixed arguments, see _run)
            _niced(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(segment),
                    "-frames:v", "1", "-vf", "scale=640:-2", "-q:v", "4", str(target)]),
            capture_output=True, timeout=CUT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return target if target.exists() and target.stat().st_size > 0 else None
