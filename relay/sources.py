"""Where a playout's ffmpeg reads its video: a local path when the storage has one, else a URL."""

import os

from django.core.files.storage import default_storage

from relay.models import Playout


def _stored(name: str) -> str:
    try:
        return default_storage.path(name)
    except NotImplementedError:  # object storage: ffmpeg reads it over HTTP(S)
        return default_storage.url(name)


def playout_source(playout: Playout) -> str:
    if playout.upload:
        return _stored(playout.upload.name)
    vod = playout.vod
    if vod is None:
        raise ValueError("the playout's video was deleted")
    # The stream's own recording, when the ingest's file is still there: FLV, sent on without a remux.
    stream = vod.stream
    if stream is not None and stream.recording_path and os.path.exists(stream.recording_path):
        return stream.recording_path
    if not vod.playlist_path:
        raise ValueError("the video has no playlist")
    return _stored(vod.playlist_path)
