"""Chat replay beside a VOD in Chromium: archived chat messages appear in the side panel at the moment of
the stream they were sent in, and a seek shows the chat of the new moment."""

import os
import uuid
from datetime import UTC, datetime

import pytest

from streamlite.mongo import MESSAGES, mongo_client
from tests.e2e.conftest import free_port, running_web, shared_database_url
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.factories import StreamFactory
from tests.vod.conftest import ffmpeg_recording
from vod.models import Vod
from vod.services import vod_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Which messages the panel shows, in order.
SHOWN = "() => [...document.querySelectorAll('[data-vod-chat-list] .chat__text')].map((el) => el.textContent)"


def chat_doc(_id: int, stream, vpos_ms: int, text: str, **extra) -> dict:
    return {
        "_id": _id, "room": stream.room_id, "stream": stream.pk, "user": 1, "username": "ann",
        "display_name": "Ann", "text": text, "kind": "chat", "vpos_ms": vpos_ms,
        "created_at": datetime.now(UTC), "client_id": f"c{_id}", "deleted": False, **extra,
    }  # fmt: skip


def test_vod_chat_replays_beside_the_video_at_its_moment_and_follows_seeks(chromium, settings, tmp_path):  # noqa: F811
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    settings.RECORDINGS_ROOT = str(recordings)
    mongo_db = f"test_vod_chat_{uuid.uuid4().hex[:10]}"
    settings.MONGO_DB = mongo_db
    stream = StreamFactory()
    stream.recording_path = str(ffmpeg_recording(recordings / f"{stream.room.public_name}-1.flv", seconds=8))
    stream.save(update_fields=["recording_path"])
    vod = vod_process(stream=stream)
    assert vod.status == Vod.Status.READY
    mongo_client()[mongo_db][MESSAGES].insert_many(
        [
            chat_doc(1, stream, 1_000, "hello at one second"),
            chat_doc(2, stream, 3_000, "gg at three seconds"),
            chat_doc(3, stream, 2_000, "removed by a moderator", deleted=True),
            chat_doc(4, stream, 2_500, "a danmaku, not chat", kind="danmaku", mode="scroll", lane=0),
        ]
    )
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "RECORDINGS_ROOT": settings.RECORDINGS_ROOT,
        "MONGO_DB": mongo_db,
    }
    try:
        with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
            page = chromium.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(f"{base_url}/vods/{vod.pk}/")
            page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=20_000)
            assert page.evaluate(SHOWN) == []
            assert page.is_visible("[data-vod-chat-empty]")
            # Beside the video on a desktop screen.
            video_box = page.locator("[data-player-box]").bounding_box()
            panel_box = page.locator("[data-vod-chat]").bounding_box()
            assert panel_box["x"] >= video_box["x"] + video_box["width"] - 1
            assert abs(panel_box["y"] - video_box["y"]) < 2

            page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
            shown_at = page.wait_for_function(
                f"() => ({SHOWN})().length ? document.querySelector('video').currentTime : null",
                timeout=20_000,
            ).json_value()
            assert 0.9 <= shown_at <= 1.6
            assert page.evaluate(SHOWN) == ["hello at one second"]
            page.wait_for_function(f"() => ({SHOWN})().length === 2", timeout=15_000)
            assert page.evaluate(SHOWN) == ["hello at one second", "gg at three seconds"]
            assert page.evaluate("() => document.querySelector('video').currentTime") >= 2.9
            assert page.inner_text("[data-vod-chat-list] .vod-chat__time") == "0:01"
            assert not page.is_visible("[data-vod-chat-empty]")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "vod-chat-replay-1440.png"))

            # Back to the start: the panel shows what was said up to there, nothing later.
            page.evaluate(
                "() => { const v = document.querySelector('video'); v.pause(); v.currentTime = 0.3; }"
            )
            page.wait_for_function(f"() => ({SHOWN})().length === 0", timeout=5_000)
            # Forward past the first message while paused: it is there at once.
            page.evaluate("() => { document.querySelector('video').currentTime = 2.2; }")
            page.wait_for_function(f"() => ({SHOWN})().join() === 'hello at one second'", timeout=5_000)
            # Clicking a message's time jumps the video there.
            page.click("[data-vod-chat-list] .vod-chat__time")
            page.wait_for_function(
                "() => Math.abs(document.querySelector('video').currentTime - 1) < 0.05", timeout=5_000
            )

            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            video_box = page.locator("[data-player-box]").bounding_box()
            panel_box = page.locator("[data-vod-chat]").bounding_box()
            assert panel_box["y"] >= video_box["y"] + video_box["height"] - 1  # below the video on a phone
            assert panel_box["width"] <= 390
            page.screenshot(path=str(ARTIFACTS / "vod-chat-replay-390.png"))
            assert errors == []
    finally:
        mongo_client().drop_database(mongo_db)
