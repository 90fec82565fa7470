"""A real Celery worker SIGKILLed in the middle of processing: redelivery still gives exactly one VOD."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from streamlite.celery import app as celery_app
from tests.e2e.conftest import REPO_ROOT, shared_database_url
from vod.models import Vod
from vod.tasks import vod_process

pytestmark = pytest.mark.django_db(transaction=True)

CELERY = Path(sys.executable).with_name("celery")


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(CELERY), "-A", "streamlite", "worker", "--pool", "solo", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes its ffmpeg too
        )  # fmt: skip


def wait_for(predicate, *, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


def test_worker_killed_mid_task_leaves_exactly_one_ready_vod_after_redelivery(
    recorded_stream, settings, tmp_path
):
    stream = recorded_stream(seconds=40, video="flv1", audio="libmp3lame", size="1280x720")
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "RECORDINGS_ROOT": settings.RECORDINGS_ROOT,
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        # Unacknowledged messages of a dead worker come back after 2 s instead of an hour.
        "CELERY_VISIBILITY_TIMEOUT": "2",
    }
    log = tmp_path / "worker.log"
    celery_app.control.purge()
    vod_process.delay(stream_id=stream.pk)
    first = start_worker(env, log)
    try:
        wait_for(
            lambda: Vod.objects.filter(stream=stream, progress__gt=0, progress__lt=90).exists(),
            timeout=60, what="processing to be under way", log=log,
        )  # fmt: skip
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert Vod.objects.get(stream=stream).status == Vod.Status.PROCESSING

        second = start_worker(env, log)
        try:
            vod = wait_for(
                lambda: Vod.objects.filter(stream=stream, status=Vod.Status.READY).first(),
                timeout=180, what="the redelivered task to finish", log=log,
            )  # fmt: skip
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()

    assert Vod.objects.filter(stream=stream).count() == 1
    assert vod.progress == 100 and vod.duration_s == 40
    assert not list(Path(tempfile.gettempdir()).glob(f"vod-{vod.pk}-*"))  # the killed run's work folder
    folders = {p.name for p in (Path(settings.MEDIA_ROOT) / "vods" / str(vod.pk)).iterdir()}
    assert folders == {vod.playlist_path.split("/")[2]}
