"""A VOD with a quality ladder in Debian's Chromium through a real web process: hls.js plays it on Auto, drops to
a lower rung when the DevTools protocol throttles the network, and the quality menu pins a rung (by
keyboard) that a reload keeps."""

import os
import re
import subprocess
import uuid

import pytest

from streams.ladder import Rung
from tests.e2e.conftest import REPO_ROOT, free_port, running_web, shared_database_url
from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)
from tests.factories import StreamFactory, VodFactory, ladder_use
from vod.models import Vod, VodRendition
from vod.services import vod_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO_ROOT / "test-artifacts"
SECONDS = 60
# Far apart, so that a throttled connection can carry only the lowest.
LADDER = (Rung("240p", 240, 250, 48), Rung("160p", 160, 70, 32))
THROTTLED_BYTES_PER_S = 20_000  # 160 kbit/s
LABEL = "[data-player-quality-label]"


def recording(path, seconds: int):
    """A 640x360 recording at about 1.5 Mbit/s, as OBS sends it (H.264 4:2:0, a keyframe a second, AAC)."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1500k", "-g", "25", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-f", "flv", str(path)],
        check=True, timeout=300,
    )  # fmt: skip
    return path


def rung_of(url: str) -> str:
    """Which rung a segment URL belongs to: a rung's segments lie in its own folder under the source's."""
    found = re.search(r"/(\d+p)-[0-9a-f]+/seg_\d+\.ts", url)
    return found.group(1) if found else "source"


def test_the_ladder_plays_adaptively_drops_when_throttled_and_a_pinned_rung_survives_a_reload(
    chromium,  # noqa: F811
    celery_eager,
    monkeypatch,
    settings,
    tmp_path,
):
    ladder_use(LADDER)
    settings.VOD_HLS_SEGMENT_S = 2
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    settings.RECORDINGS_ROOT = str(recordings)
    stream = StreamFactory()
    stream.recording_path = str(recording(recordings / f"{stream.room.public_name}-1.flv", SECONDS))
    stream.save(update_fields=["recording_path"])
    vod = vod_process(stream=stream)  # the rung tasks run eagerly once it commits
    assert vod.status == Vod.Status.READY
    assert list(vod.renditions.values_list("name", "status")) == [
        ("240p", VodRendition.Status.READY),
        ("160p", VodRendition.Status.READY),
    ]

    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "MONGO_DB": f"test_ladder_{uuid.uuid4().hex[:10]}",
    }
    with running_web(port=free_port(), env=env, log=tmp_path / "web.log") as base_url:
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        segments: list[str] = []
        page.on("request", lambda request: ".ts" in request.url and segments.append(rung_of(request.url)))
        page.goto(f"{base_url}/vods/{vod.pk}/")
        page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=30_000)
        page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")

        # Auto on a fast connection: hls.js climbs to the source rung and the menu says so.
        page.wait_for_function(
            f"() => document.querySelector('{LABEL}').textContent === 'Auto (360p)'", timeout=30_000
        )
        assert "source" in segments

        # Throttled: hls.js measures the slow downloads and goes down the ladder.
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 40,
                "downloadThroughput": THROTTLED_BYTES_PER_S,
                "uploadThroughput": THROTTLED_BYTES_PER_S,
            },
        )
        seen = len(segments)
        # Past what is buffered, so that the next segments are fetched over the slow link.
        page.evaluate("() => { document.querySelector('video').currentTime = 40; }")
        page.wait_for_function(
            f"""() => ['Auto (240p)', 'Auto (160p)']
                .includes(document.querySelector('{LABEL}').textContent)""",
            timeout=60_000,
        )
        assert {"240p", "160p"} & set(segments[seen:])
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

        # The menu, by keyboard: open it on the button, go to "160p" (Auto, 360p, 240p, 160p), choose it.
        page.focus("[data-player-quality-button]")
        page.keyboard.press("Enter")
        assert page.get_attribute("[data-player-quality-button]", "aria-expanded") == "true"
        items = page.locator("[data-player-quality-menu] [role=menuitemradio]")
        assert items.all_text_contents() == ["Auto", "360p", "240p", "160p"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "vod-quality-menu-1440.png"))
        page.keyboard.press("End")
        seen = len(segments)
        page.keyboard.press("Enter")
        assert page.is_hidden("[data-player-quality-menu]")
        assert page.text_content(LABEL) == "160p"
        # Pinning switches at once: the buffer ahead is dropped and fetched again from the pinned rung.
        _wait_for_segments(page, segments, seen)
        for _ in range(60):
            if "160p" in segments[seen:]:
                break
            page.wait_for_timeout(500)
        # A request already under way when the choice was made may still end on the old rung; from the
        # first pinned segment on, only the pinned rung is fetched.
        after = segments[seen:]
        assert "160p" in after and set(after[after.index("160p") :]) == {"160p"}

        # A reload, on a phone: the pinned rung is the one that plays from the first segment.
        page.close()
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.on("pageerror", lambda error: errors.append(str(error)))
        segments.clear()
        phone.on("request", lambda request: ".ts" in request.url and segments.append(rung_of(request.url)))
        phone.goto(f"{base_url}/vods/{vod.pk}/")
        phone.wait_for_function(
            f"() => document.querySelector('{LABEL}').textContent === '160p'", timeout=30_000
        )
        phone.wait_for_function("() => document.querySelector('video').readyState >= 2", timeout=30_000)
        assert segments and set(segments) == {"160p"}
        phone.click("[data-player-quality-button]")
        phone.screenshot(path=str(ARTIFACTS / "vod-quality-menu-390.png"))
        # Back to Auto: remembered as such.
        phone.click("[data-player-quality-menu] [data-quality=auto]")
        assert phone.evaluate("() => localStorage.getItem('streamlite.quality')") == "auto"
        assert errors == []
        context.close()


def _wait_for_segments(page, segments: list[str], seen: int, timeout_ms: int = 20_000) -> None:
    waited = 0
    while len(segments) <= seen and waited < timeout_ms:
        page.wait_for_timeout(200)
        waited += 200
    assert len(segments) > seen, "no segment was fetched after the seek"


def test_the_dashboard_shows_each_rung_as_it_is_made_and_a_failed_one_with_its_reason(
    web_server,
    chromium,  # noqa: F811
    client,
):
    vod = VodFactory(playlist_path="vods/1/a/index.m3u8", height=1080)
    made = dict(vod=vod, video_kbps=1, audio_kbps=1)
    VodRendition.objects.create(
        name="720p", height=720, status=VodRendition.Status.READY, progress=100, **made
    )
    busy = VodRendition.objects.create(name="480p", height=480, status="processing", progress=40, **made)
    VodRendition.objects.create(
        name="360p", height=360, status=VodRendition.Status.FAILED, failure_reason="Bad input.", **made
    )
    client.force_login(vod.room.owner)
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    for width, height in ((1440, 900), (390, 844)):
        VodRendition.objects.filter(pk=busy.pk).update(progress=40)
        context = chromium.new_context(viewport={"width": width, "height": height})
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": web_server}]
        )
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{web_server}/dashboard/")
        row = page.locator(f"[data-vod-row='{vod.pk}']")
        row.locator("[data-rung='480p']").wait_for(timeout=10_000)
        assert row.locator("[data-vod-rungs] li").all_inner_texts() == [
            "720p · ready",
            "480p · 40%",
            "360p · failed (Bad input.)",
        ]
        # The page polls while a rung is being made.
        VodRendition.objects.filter(pk=busy.pk).update(progress=85)
        page.wait_for_function(
            "(row) => document.querySelector(row + \" [data-rung='480p']\")?.textContent === '480p · 85%'",
            arg=f"[data-vod-row='{vod.pk}']",
            timeout=10_000,
        )
        # A ready VOD with a failed rung offers to retry it.
        assert row.locator("[data-vod-action=retry]").is_visible()
        row.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"vod-dashboard-rungs-{width}.png"))
        context.close()
    assert errors == []
