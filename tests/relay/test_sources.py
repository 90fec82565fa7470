"""What a playout's ffmpeg reads when the VOD lives in object storage (a real moto_server, real ffmpeg)."""

import subprocess

from django.utils import timezone

from relay.models import Playout
from relay.sources import playout_source
from relay.supervisor import PLAYOUT_PROTOCOLS
from vod.media import probe
from vod.services import vod_process


def test_a_vod_in_object_storage_is_read_through_its_segments_signed_urls(
    recorded_stream, s3_storage, tmp_path
):
    moto, _bucket = s3_storage
    stream = recorded_stream(seconds=3)
    vod = vod_process(stream=stream)
    playout = Playout(room=vod.room, vod=vod, title=vod.title, starts_at=timezone.now())

    source = playout_source(playout, folder=tmp_path)

    playlist = (tmp_path / "playlist.m3u8").read_text()
    assert source.input == str(tmp_path / "playlist.m3u8")
    assert moto.endpoint in playlist and "Signature=" in playlist
    read = subprocess.run(
        ["ffmpeg", "-v", "error", "-protocol_whitelist", PLAYOUT_PROTOCOLS, "-i", source.input,
         "-c", "copy", "-f", "flv", str(tmp_path / "read.flv")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    assert probe(tmp_path / "read.flv").duration_s > 2
