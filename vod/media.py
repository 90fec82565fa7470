"""ffprobe and ffmpeg for VODs: probe a recording, cut it into HLS, transcode the rungs of the quality
ladder, grab a thumbnail.

Everything runs under ``nice`` (settings.VOD_NICENESS) so that processing never starves live viewers of
the CPU, and writes only into the folder it is given: publishing is the caller's job.
"""

import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from streams.ladder import Rung

logger = logging.getLogger(__name__)

PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
THUMBNAIL_NAME = "thumbnail.jpg"
PROBE_TIMEOUT_S = 60
# x264's own keyframe interval, set beyond any segment so that only the forced keyframes cut segments.
NO_KEYFRAMES_BUT_FORCED = 100_000
THUMBNAIL_TIMEOUT_S = 120
# What browsers play from HLS without transcoding (hls.js into Media Source Extensions).
PLAYABLE_VIDEO = {"h264"}
PLAYABLE_AUDIO = {"aac"}


class MediaError(Exception):
    """The recording cannot become a VOD; the message is the reason shown to the streamer."""


@dataclass(frozen=True)
class Probe:
    duration_s: float
    video_codec: str
    audio_codec: str | None
    width: int = 0
    height: int = 0

    @property
    def copy_video(self) -> bool:
        return self.video_codec in PLAYABLE_VIDEO

    @property
    def copy_audio(self) -> bool:
        return self.audio_codec is None or self.audio_codec in PLAYABLE_AUDIO

    @property
    def remux_only(self) -> bool:
        return self.copy_video and self.copy_audio


def _niced(command: list[str]) -> list[str]:
    return ["nice", "-n", str(settings.VOD_NICENESS), *command]


def probe(path: Path | str) -> Probe:
    """Read a file's (or a storage URL's) duration and codecs."""
    try:
        # Fixed programs and arguments; the only variable is a recording path checked against
        # RECORDINGS_ROOT, or a stored file's path or URL.
        result = subprocess.run(  # noqa: S603
            ["ffprobe", "-v", "error",  # noqa: S607
             "-show_entries", "format=duration:stream=codec_type,codec_name,width,height", "-of", "json", str(path)],
            capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as timeout:
        raise MediaError(_("The recording could not be read (ffprobe timed out).")) from timeout
    try:
        info = json.loads(result.stdout or "{}")
    except ValueError:
        info = {}
    streams = info.get("streams") or []
    video_stream = next((s for s in streams if s.get("codec_type") == "video"), None)
    video = video_stream.get("codec_name") if video_stream else None
    audio = next((s["codec_name"] for s in streams if s.get("codec_type") == "audio"), None)
    try:
        duration = float((info.get("format") or {}).get("duration", 0))
    except (TypeError, ValueError):
        duration = 0.0
    if result.returncode != 0 or video is None or duration <= 0:
        raise MediaError(_("The recording is corrupt or has no video."))
    return Probe(
        duration_s=duration,
        video_codec=video,
        audio_codec=audio,
        width=_dimension(video_stream.get("width")),
        height=_dimension(video_stream.get("height")),
    )


def _dimension(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def hls_command(source: Path, folder: Path, media: Probe) -> list[str]:
    video = ["-c:v", "copy"] if media.copy_video else ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
    audio = ["-c:a", "copy"] if media.copy_audio else ["-c:a", "aac", "-b:a", "128k"]
    return _niced(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
         "-map", "0:v:0", "-map", "0:a:0?", *video, *audio,
         "-f", "hls", "-hls_time", str(settings.VOD_HLS_SEGMENT_S), "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(folder / SEGMENT_PATTERN),
         "-progress", "pipe:1", "-nostats", str(folder / PLAYLIST_NAME)]
    )  # fmt: skip


def hls_write(source: Path, folder: Path, media: Probe, on_progress: Callable[[float], None]) -> Path:
    """Cut the recording into an HLS playlist and segments in ``folder``; reports the done fraction."""
    return _hls_run(hls_command(source, folder, media), folder, media, on_progress)


def rung_command(source: Path, folder: Path, media: Probe, rung: Rung, boundaries: list[float]) -> list[str]:
    """Transcode the recording to one rung. Keyframes are forced exactly where the source rung's segments
    begin and nowhere else, so every rung is cut at the same instants and the player switches rungs at any
    segment without a jump."""
    # A millisecond early: the boundary is where a source frame starts, and the playlist rounds it.
    keyframes = ",".join(f"{max(0.0, at - 0.001):.3f}" for at in boundaries) or "0"
    return _niced(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
         "-map", "0:v:0", "-map", "0:a:0?",
         "-vf", f"scale=-2:{rung.height}", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
         "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.video_kbps * 11 // 10}k",
         "-bufsize", f"{rung.video_kbps * 2}k",
         "-force_key_frames", keyframes, "-g", str(NO_KEYFRAMES_BUT_FORCED), "-sc_threshold", "0",
         "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ac", "2",
         # Shorter than any segment: the muxer cuts at every (forced) keyframe.
         "-f", "hls", "-hls_time", "0.1", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(folder / SEGMENT_PATTERN),
         "-progress", "pipe:1", "-nostats", str(folder / PLAYLIST_NAME)]
    )  # fmt: skip


def rung_write(
    source: Path,
    folder: Path,
    media: Probe,
    rung: Rung,
    boundaries: list[float],
    on_progress: Callable[[float], None],
) -> Path:
    """Transcode the recording into one rung's HLS playlist and segments in ``folder``."""
    return _hls_run(rung_command(source, folder, media, rung, boundaries), folder, media, on_progress)


def _hls_run(command: list[str], folder: Path, media: Probe, on_progress: Callable[[float], None]) -> Path:
    process = subprocess.Popen(  # noqa: S603 (fixed arguments, see probe)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:
            key, _sep, value = line.strip().partition("=")
            # ffmpeg's -progress reports out_time_us (and out_time_ms, also in microseconds).
            if key == "out_time_us" and value.isdigit():
                on_progress(min(1.0, int(value) / 1_000_000 / media.duration_s))
        stderr = process.stderr.read()
        process.wait()
    finally:
        # A time limit or any other exception inside this loop must not leave ffmpeg running.
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        logger.warning("ffmpeg exited with %s: %s", process.returncode, stderr[-2000:])
        if process.returncode < 0:
            raise MediaError(_("Processing was interrupted (ffmpeg stopped by a signal). Retry it."))
        raise MediaError(_("The recording could not be converted (it may be corrupt)."))
    playlist = folder / PLAYLIST_NAME
    if not playlist.exists() or not any(folder.glob("seg_*.ts")):
        raise MediaError(_("The recording holds no playable video."))
    return playlist


def segment_durations(playlist_text: str) -> list[tuple[str, float]]:
    """The (segment name, duration) pairs of a media playlist, in order."""
    segments, duration = [], None
    for line in playlist_text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                duration = None
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return segments


def segment_boundaries(playlist_text: str) -> list[float]:
    """Where each segment after the first begins, in seconds from the start."""
    starts, position = [], 0.0
    for _name, duration in segment_durations(playlist_text)[:-1]:
        position += duration
        starts.append(round(position, 6))
    return starts


def peak_bandwidth(folder: Path, playlist: Path) -> int:
    """The highest bit rate of any segment (bits/s): what HLS's BANDWIDTH attribute means."""
    peak = 0.0
    for name, duration in segment_durations(playlist.read_text()):
        if duration > 0 and "/" not in name and (folder / name).is_file():
            peak = max(peak, (folder / name).stat().st_size * 8 / duration)
    return round(peak)


def thumbnail_write(source: Path, folder: Path, media: Probe) -> Path | None:
    """A JPEG of the frame at 10 % of the recording; None when no frame could be taken (not fatal)."""
    target = folder / THUMBNAIL_NAME
    try:
        subprocess.run(  # noqa: S603 (fixed arguments, see probe)
            _niced(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-ss", f"{media.duration_s * 0.1:.3f}", "-i", str(source),
                    "-frames:v", "1", "-vf", "scale=640:-2", "-q:v", "4", str(target)]),
            capture_output=True, timeout=THUMBNAIL_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return target if target.exists() and target.stat().st_size > 0 else None
