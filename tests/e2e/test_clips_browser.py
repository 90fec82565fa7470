"""Clips, live previews, embeds and overlays end to end: real nginx-rtmp and ffmpeg publishing, a real web process,
Debian's Chromium."""

import hashlib
import json
import subprocess
import threading
import time
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image
from rest_framework_simplejwt.tokens import RefreshToken

from clips.models import Clip
from rooms.selectors import stream_key_active
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.settings.storage import MEDIA_ROOT as SERVER_MEDIA_ROOT
from streams.hls import live_fragments
from streams.previews import stream_previews_capture
from tests.e2e.conftest import REPO_ROOT, free_port
from tests.e2e.test_ingest import ingest, publishers, wait_for, wait_live  # noqa: F401 (fixtures)
from tests.e2e.test_player_browser import chromium  # noqa: F401 (fixture)
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO_ROOT / "test-artifacts"
DANMAKU_ID = 9_190_000_001


def api_post(url: str, user, body: dict) -> tuple[dict, float]:
    token = RefreshToken.for_user(user).access_token
    request = Request(  # noqa: S310 (our own loopback server)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    started = time.monotonic()
    with urlopen(request, timeout=30) as response:  # noqa: S310 (our own loopback server)
        return json.loads(response.read()), time.monotonic() - started


def probe_duration(url: str) -> float:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return float(result.stdout.strip() or 0)


def preview_of(client, room) -> tuple[str, str]:
    url = client.get(f"/api/rooms/{room.pk}/").json()["preview_url"]
    name = url.removeprefix(settings.MEDIA_URL)
    with default_storage.open(name, "rb") as frame:
        return url, hashlib.sha256(frame.read()).hexdigest()


def screenshots(chromium, url: str, name: str, *, session: str = "", open_share: bool = False) -> None:  # noqa: F811
    """Look at a page as a user would, wide and narrow; no script error or failed request may show."""
    for width, height in ((1440, 900), (390, 844)):
        context = chromium.new_context(viewport={"width": width, "height": height})
        if session:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        if open_share:
            page.click(".share-menu > summary")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"))
        context.close()
        assert errors == [], (url, errors)


def test_live_previews_clips_embeds_and_overlays(ingest, publishers, chromium, client, tmp_path, settings):  # noqa: F811
    # Frames go where the web server serves media from, so pages can show them.
    settings.MEDIA_ROOT = str(SERVER_MEDIA_ROOT)
    room = RoomFactory()
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    wait_for(
        lambda: sum(f.duration_s for f in live_fragments(public_name=room.public_name)) >= 13,
        timeout=40,
        what="13 s of live fragments",
    )

    # Live preview: a new frame of the stream between two reads of the room.
    client.force_login(UserFactory())
    assert stream_previews_capture() == 1
    first = preview_of(client, room)
    time.sleep(2)
    assert stream_previews_capture() == 1
    second = preview_of(client, room)
    assert first[0] != second[0] and first[1] != second[1]
    ARTIFACTS.mkdir(exist_ok=True)
    screenshots(chromium, f"{ingest.web_url}/", "home-live-preview")
    client.force_login(room.owner)
    screenshots(
        chromium,
        f"{ingest.web_url}/rooms/{room.pk}/",
        "room-clip-share",
        session=client.cookies[settings.SESSION_COOKIE_NAME].value,
        open_share=True,
    )

    # A clip of the last 10 s, ready within seconds, 9-11 s long.
    viewer = UserFactory()
    body, took_s = api_post(f"{ingest.web_url}/api/rooms/{room.pk}/clips/", viewer, {"seconds": 10})
    clip = Clip.objects.get(slug=body["slug"])
    wait_for(lambda: Clip.objects.filter(pk=clip.pk, status="ready").exists(), timeout=10, what="the clip")
    assert took_s < 5
    clip.refresh_from_db()
    assert 9 <= probe_duration(f"{ingest.web_url}/clips/{clip.slug}/playlist.m3u8") <= 11

    # Its danmaku replay in Chromium: a comment sent 1.5 s into the clip's window shows over the video.
    mongo_db()[MESSAGES].insert_one(
        {"_id": DANMAKU_ID, "room": room.pk, "stream": clip.stream_id, "user": viewer.pk, "username": "ann",
         "display_name": "Ann", "text": "clip danmaku", "kind": "danmaku", "mode": "scroll",
         "color": "#ffcc00", "size": "big", "lane": 0, "vpos_ms": clip.start_ms + 1500,
         "created_at": datetime.now(UTC), "client_id": "c1", "deleted": False}
    )  # fmt: skip
    try:
        for width, height in ((1440, 900), (390, 844)):
            page = chromium.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{ingest.web_url}/clips/{clip.slug}/")
            page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=20_000)
            page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.play(); }")
            shown_at = page.wait_for_function(
                """() => {
                    const item = [...document.querySelectorAll('.danmaku-layer .danmaku')]
                        .find((el) => el.textContent === 'clip danmaku');
                    return item ? document.querySelector('video').currentTime : null;
                }""",
                timeout=20_000,
            ).json_value()
            assert 1.4 <= shown_at <= 2.6
            page.screenshot(path=str(ARTIFACTS / f"clip-{width}.png"))
            assert errors == []
            page.close()
    finally:
        mongo_db()[MESSAGES].delete_one({"_id": DANMAKU_ID})

    # The embed loads inside another origin's frame; the room page refuses to be framed there.
    host = tmp_path / "other-site"
    host.mkdir()
    (host / "index.html").write_text(
        f'<!doctype html><iframe id="embed" src="{ingest.web_url}/embed/rooms/{room.pk}/" width="640" height="360">'
        f'</iframe><iframe id="room" src="{ingest.web_url}/rooms/{room.pk}/" width="640" height="360"></iframe>'
    )
    other = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(SimpleHTTPRequestHandler, directory=str(host))
    )
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page = chromium.new_page(viewport={"width": 1440, "height": 900})
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"http://127.0.0.1:{other.server_port}/index.html")
        embed = wait_for(
            lambda: next((f for f in page.frames if "/embed/rooms/" in f.url), None), what="the embed frame"
        )
        embed.wait_for_selector("video", state="attached", timeout=10_000)
        embed.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=20_000)
        wait_for(lambda: any("frame-ancestors" in text for text in console), what="the refusal to frame")
        assert not [
            f for f in page.frames if f.url.endswith(f"/rooms/{room.pk}/") and f.query_selector(".room")
        ]
        page.screenshot(path=str(ARTIFACTS / "embed-in-other-site.png"))
        page.close()
    finally:
        other.shutdown()
        other.server_close()

    # The overlay paints nothing but its text: an empty chat overlay is fully transparent.
    page = chromium.new_page(viewport={"width": 800, "height": 600})
    page.goto(f"{ingest.web_url}/overlay/rooms/{room.pk}/chat/?font=28&fade=10")
    page.wait_for_selector("[data-overlay]", state="attached")
    png = page.screenshot(omit_background=True)
    image = Image.open(BytesIO(png)).convert("RGBA")
    assert {image.getpixel((x, y))[3] for x in (0, 400, 799) for y in (0, 300, 599)} == {0}
    page.close()
    Path(ARTIFACTS / "overlay-chat.png").write_bytes(png)
