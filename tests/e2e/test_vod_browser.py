"""A processed VOD plays in Debian's Chromium through a real web process, from local media and from S3 (moto_server),
with its danmaku replayed at their moment and the view counted."""

import os
import signal
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

import pytest
from django.test import override_settings

from rooms.selectors import stream_key_active
from streamlite.mongo import MESSAGES, mongo_client
from tests.e2e.conftest import REPO_ROOT, free_port, running_web, shared_database_url
from tests.e2e.test_ingest import ingest, publishers, wait_for, wait_idle, wait_live  # noqa: F401 (fixtures)
from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory, StreamFactory, VodFactory
from tests.vod.conftest import MOTO_KEYS, ffmpeg_recording, moto_server  # noqa: F401 (fixture)
from vod.models import Vod
from vod.services import vod_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO_ROOT / "test-artifacts"
DANMAKU_VPOS_MS = 2_000


def _server_env(storage: str, settings, mongo_db: str, stack: ExitStack, moto) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "RECORDINGS_ROOT": settings.RECORDINGS_ROOT,
        "MONGO_DB": mongo_db,
    }
    if storage == "local":
        return env
    bucket = f"vods-{uuid.uuid4().hex[:12]}"
    moto.bucket_create(bucket)
    stack.enter_context(override_settings(STORAGES=moto.storages(bucket)))
    env.update(
        AWS_STORAGE_BUCKET_NAME=bucket,
        AWS_S3_ENDPOINT_URL=moto.endpoint,
        AWS_ACCESS_KEY_ID=MOTO_KEYS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=MOTO_KEYS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=MOTO_KEYS["region_name"],
    )
    return env


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_vod_plays_with_danmaku_at_their_moment_and_counts_a_view(
    storage,
    chromium,  # noqa: F811
    moto_server,  # noqa: F811
    settings,
    tmp_path,
):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    settings.RECORDINGS_ROOT = str(recordings)
    mongo_db = f"test_vod_e2e_{uuid.uuid4().hex[:10]}"
    settings.MONGO_DB = mongo_db
    with ExitStack() as stack:
        env = _server_env(storage, settings, mongo_db, stack, moto_server)
        stream = StreamFactory()
        stream.recording_path = str(
            ffmpeg_recording(recordings / f"{stream.room.public_name}-1.flv", seconds=8)
        )
        stream.save(update_fields=["recording_path"])
        vod = vod_process(stream=stream)
        assert vod.status == Vod.Status.READY
        mongo_client()[mongo_db][MESSAGES].insert_one(
            {"_id": 1, "room": stream.room_id, "stream": stream.pk, "user": 1, "username": "ann",
             "display_name": "Ann", "text": "replayed at two seconds", "kind": "danmaku", "mode": "scroll",
             "color": "#ffcc00", "size": "big", "lane": 0, "vpos_ms": DANMAKU_VPOS_MS,
             "created_at": datetime.now(UTC), "client_id": "c1", "deleted": False}
        )  # fmt: skip
        try:
            with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
                page = chromium.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{base_url}/vods/{vod.pk}/")
                page.wait_for_function(
                    "() => document.querySelector('video').readyState >= 1", timeout=20_000
                )
                page.evaluate(
                    "() => { const v = document.querySelector('video'); v.muted = true; v.play(); }"
                )

                shown_at = page.wait_for_function(
                    """() => {
                        const item = [...document.querySelectorAll('.danmaku-layer .danmaku')]
                            .find((el) => el.textContent === 'replayed at two seconds');
                        return item ? document.querySelector('video').currentTime : null;
                    }""",
                    timeout=20_000,
                ).json_value()
                assert DANMAKU_VPOS_MS / 1000 - 0.1 <= shown_at <= DANMAKU_VPOS_MS / 1000 + 1.0
                page.wait_for_function(
                    "() => document.querySelector('video').currentTime > 3", timeout=15_000
                )
                assert page.locator(".vod-heatmap__cell").count() == 100
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"vod-{storage}.png"))

                # A seek clears the screen; playing past the comment's moment again shows it again.
                page.evaluate("() => { document.querySelector('video').currentTime = 0.5; }")
                page.wait_for_function(
                    "() => document.querySelectorAll('.danmaku-layer .danmaku').length === 0", timeout=5_000
                )
                again_at = page.wait_for_function(
                    """() => document.querySelector('.danmaku-layer .danmaku')
                        ? document.querySelector('video').currentTime : null""",
                    timeout=15_000,
                ).json_value()
                assert DANMAKU_VPOS_MS / 1000 - 0.1 <= again_at <= DANMAKU_VPOS_MS / 1000 + 1.0
                assert errors == []
        finally:
            mongo_client().drop_database(mongo_db)
    vod.refresh_from_db()
    assert vod.view_count == 1


def test_a_streamed_session_becomes_a_ready_vod(ingest, publishers):  # noqa: F811
    """OBS (ffmpeg) → nginx-rtmp → record_done → vod_process (run in the server's process here) → ready."""
    room = RoomFactory()
    ffmpeg = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    time.sleep(4)
    ffmpeg.send_signal(signal.SIGINT)
    ffmpeg.wait(timeout=10)
    wait_idle(room)
    vod = wait_for(
        lambda: Vod.objects.filter(room=room).exclude(status=Vod.Status.PROCESSING).first(),
        timeout=60,
        what="the VOD of the stream",
    )
    assert (vod.status, vod.failure_reason) == (Vod.Status.READY, "")
    assert vod.stream.room_id == room.pk and vod.duration_s >= 3
    with urlopen(f"{ingest.web_url}/vods/{vod.pk}/playlist/source.m3u8", timeout=10) as playlist:  # noqa: S310
        text = playlist.read().decode()
    assert "#EXT-X-ENDLIST" in text and ".ts" in text
    stored = Path(os.environ["MEDIA_ROOT"]) / vod.playlist_path
    assert stored.is_file()


def test_dashboard_progress_moves_and_a_failed_vod_is_retried(web_server, chromium, client):  # noqa: F811
    vod = VodFactory(status=Vod.Status.PROCESSING, progress=10)
    failed = VodFactory(
        room=vod.room, status=Vod.Status.FAILED, failure_reason="The recording file is empty."
    )
    client.force_login(vod.room.owner)
    context = chromium.new_context(viewport={"width": 1280, "height": 1600})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web_server}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{web_server}/dashboard/")

    bar = f"[data-vod-row='{vod.pk}'] [data-vod-progress]"
    page.wait_for_function("(bar) => document.querySelector(bar)?.value === 10", arg=bar, timeout=10_000)
    Vod.objects.filter(pk=vod.pk).update(progress=55)
    page.wait_for_function("(bar) => document.querySelector(bar)?.value === 55", arg=bar, timeout=10_000)
    processing = page.locator(f"[data-vod-row='{vod.pk}']")
    assert not processing.locator("[data-vod-action=retry]").is_visible()
    assert not processing.locator("[data-vod-action=publish]").is_visible()
    row = page.locator(f"[data-vod-row='{failed.pk}']")
    assert not row.locator("[data-vod-progress]").is_visible()
    assert row.locator("[data-vod-reason]").inner_text() == "The recording file is empty."
    # Its stream is gone, so the retry is refused and says so.
    row.locator("[data-vod-action=retry]").click()
    page.wait_for_selector("[data-vod-error]:not([hidden])", timeout=10_000)
    assert "stream of this VOD is gone" in page.inner_text("[data-vod-error]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("[data-vod-dashboard]").screenshot(path=str(ARTIFACTS / "vod-dashboard.png"))
    assert errors == []
