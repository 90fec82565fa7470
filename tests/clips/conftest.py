"""Clip fixtures: real HLS fragments written by ffmpeg where the ingest writes them, a live room."""

import subprocess
from pathlib import Path

import pytest

from tests.vod.conftest import mongo_isolated, recorded_stream, recordings_root  # noqa: F401 (fixtures)


def hls_write(folder: Path, public_name: str, *, seconds: int, size: str = "320x240") -> Path:
    """What nginx-rtmp writes for a live stream: 1 s fragments `<name>-<n>.ts` and `<name>.m3u8`."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-shortest",
         "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
         "-hls_segment_filename", str(folder / f"{public_name}-%d.ts"), str(folder / f"{public_name}.m3u8")],
        check=True, timeout=300,
    )  # fmt: skip
    return folder / f"{public_name}.m3u8"


@pytest.fixture
def hls_root(tmp_path, settings) -> Path:
    root = tmp_path / "hls"
    root.mkdir()
    settings.HLS_ROOT = str(root)
    return root


@pytest.fixture
def live_room(db, hls_root):
    """A live room whose ingest has written ``seconds`` of fragments: ``live_room(seconds=20)``."""
    from tests.factories import LiveRoomFactory

    def make(seconds: int = 20, **fields):
        room = LiveRoomFactory(**fields)
        hls_write(hls_root, room.public_name, seconds=seconds)
        return room

    return make
