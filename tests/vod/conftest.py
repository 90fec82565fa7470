"""VOD fixtures: real ffmpeg recordings under a temporary RECORDINGS_ROOT, a real moto_server for S3."""

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.test import override_settings

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
MOTO_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ffmpeg_recording(
    path: Path, *, seconds: float = 3, video: str = "libx264", audio: str = "aac", size: str = "320x240"
) -> Path:
    """A real FLV like nginx-rtmp writes: lavfi test pattern and a sine tone."""
    # As OBS sends it: 4:2:0, the chroma browsers decode.
    fast = ["-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p"] if video == "libx264" else []
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", video, *fast, "-c:a", audio, "-shortest", "-f", "flv", str(path)],
        check=True, timeout=300,
    )  # fmt: skip
    return path


@pytest.fixture
def recordings_root(tmp_path, settings) -> Path:
    root = tmp_path / "recordings"
    root.mkdir()
    settings.RECORDINGS_ROOT = str(root)
    return root


@pytest.fixture
def recorded_stream(db, recordings_root):
    """Make an ended stream whose recording ffmpeg wrote: ``recorded_stream(**ffmpeg_options)``."""
    from tests.factories import StreamFactory

    def make(**options):
        stream = StreamFactory()
        path = ffmpeg_recording(
            recordings_root / f"{stream.room.public_name}-{int(time.time())}.flv", **options
        )
        stream.recording_path = str(path)
        stream.save(update_fields=["recording_path"])
        return stream

    return make


@pytest.fixture
def mongo_isolated(settings):
    """A database of its own in the MongoDB stand-in, dropped afterwards."""
    from streamlite.mongo import mongo_client, mongo_db

    settings.MONGO_DB = f"test_vod_{uuid.uuid4().hex[:12]}"
    yield mongo_db()
    mongo_client().drop_database(settings.MONGO_DB)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Moto:
    """A real moto_server process (S3 wire protocol) that a test can stop and start again."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.log = folder / "moto.log"
        self.process: subprocess.Popen | None = None
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 180  # a loaded machine starts it slowly
        while not _port_open(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"moto_server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, **MOTO_KEYS)

    def bucket_create(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def storages(self, bucket: str) -> dict:
        return {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "endpoint_url": self.endpoint,
                    "access_key": MOTO_KEYS["aws_access_key_id"],
                    "secret_key": MOTO_KEYS["aws_secret_access_key"],
                    "region_name": MOTO_KEYS["region_name"],
                    "querystring_auth": True,
                    "file_overwrite": True,
                    # Fail fast when the store is down: the task's own retries take it from there.
                    "client_config": Config(
                        connect_timeout=2,
                        read_timeout=10,
                        retries={"max_attempts": 1},
                        signature_version="s3v4",
                    ),
                },
            },
        }


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    moto = Moto(tmp_path_factory.mktemp("moto"))
    moto.start()
    yield moto
    moto.stop()


@pytest.fixture
def s3_storage(moto_server):
    """Django's default storage on a fresh private bucket of the real moto_server; yields (moto, bucket)."""
    if moto_server.process.poll() is not None:
        moto_server.start()
    bucket = f"vods-{uuid.uuid4().hex[:12]}"
    moto_server.bucket_create(bucket)
    with override_settings(STORAGES=moto_server.storages(bucket)):
        yield moto_server, bucket
