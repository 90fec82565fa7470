"""What a playout's ffmpeg reads: the uploaded file, or the VOD's published HLS copy (seekable, so it
loops; the ingest's FLV recording is not: ffmpeg cannot seek back to its start)."""

from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage

from relay.models import Playout
from vod.media import Probe, probe
from vod.selectors import stored_playlist

# VODs are published as H.264/AAC (vod.media transcodes anything else): sent on as they are.
VOD_MEDIA = Probe(duration_s=0, video_codec="h264", audio_codec="aac")
PLAYLIST_NAME = "playlist.m3u8"


@dataclass(frozen=True)
class PlayoutSource:
    input: str
    media: Probe


def _local_path(name: str) -> str | None:
    try:
        return default_storage.path(name)
    except NotImplementedError:
        return None


def playout_source(playout: Playout, *, folder: Path) -> PlayoutSource:
    """The playout's input; files it needs for the time it runs are written into ``folder``.

    Raises vod.media.MediaError or ValueError when there is no readable video."""
    if playout.upload:
        name = playout.upload.name
        source = _local_path(name) or default_storage.url(name)
        return PlayoutSource(input=source, media=probe(source))
    vod = playout.vod
    if vod is None or not vod.playlist_path:
        raise ValueError("the playout's video was deleted")
    local = _local_path(vod.playlist_path)
    if local is not None:
        return PlayoutSource(input=local, media=VOD_MEDIA)
    # Object storage: the stored playlist names its segments relatively, which signed URLs do not allow;
    # ffmpeg reads a copy whose lines are the segments' own URLs.
    playlist = folder / PLAYLIST_NAME
    playlist.write_text(stored_playlist(vod.playlist_path))
    return PlayoutSource(input=str(playlist), media=VOD_MEDIA)
