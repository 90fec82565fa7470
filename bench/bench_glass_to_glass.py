"""Glass-to-glass latency and stalls of the room page's player (goal: median ≤ 2 s, no stall in 5 minutes).

The chain is the real one: ffmpeg (x264 veryfast/zerolatency, a keyframe every second, -re) publishes
to nginx-rtmp, which asks Daphne's hooks and writes 1 s HLS fragments; Debian's Chromium (headless,
muted autoplay) plays the room page with hls.js as a viewer would.

The clock burnt into the picture is the wall clock at which each frame enters ffmpeg's filter graph,
which with -re is the moment the frame is "captured". ``setpts=RTCTIME`` (in the AV_TIME_BASE time base
of ``settb=AVTB``) turns a frame's timestamp into the epoch in microseconds, drawtext writes it as
``SSS.mmm`` (epoch seconds modulo 1000 and milliseconds, white on a black box, 96 px on 640x360), and
``setpts=N/(30*TB)`` gives the encoder its regular 30 fps timestamps back. So no start time has to be
guessed (ffmpeg's own start-up, the -re clock start, the hook) and every frame carries its own capture
time; ``%{pts:flt}`` with an offset taken in Python would have counted ffmpeg's start-up as latency.
The epoch modulo 1000 is made whole again with the wall clock of the screenshot.

Every ~0.5 s the bench screenshots the box's area of the video element (clip computed from the element's
box and the video's letterboxing), reading the wall clock before and after; the sample's time is the
middle of the two. After the run (so OCR does not compete with the player for the CPU) tesseract reads
each crop (grey, inverted to black on white, ``--psm 7`` and a digits-and-dot whitelist). A reading is
kept if it has the ``SSS.mmm`` shape and gives a latency between 0 and 30 s; the rest count as
unreadable. Latency = screenshot time − burnt-in capture time.

Stalls: a sample whose video.currentTime did not advance since the last sample at least 1 s earlier
(consecutive frozen samples are one stall), and the video's ``waiting`` events, both counted after
playback has started and a 5 s warm-up.

Duration: BENCH_G2G_SECONDS (default 300). With BENCH_G2G_LADDER=1 the quality ladder runs (240p and
160p below the 640x360 source, transcoded by a ladder supervisor in this process as a worker on the
ingest's host would) and the page is opened once its master playlist is served: hls.js then plays
whichever rendition it picks, and the player's own rendition latency is what the row measures.
"""

import contextlib
import io
import os
import re
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from common import percentile
from ingest import FONT, ingest, ladder, publish, stop, wait_ladder_running, wait_status
from PIL import Image, ImageOps

from accounts.models import User
from rooms.selectors import stream_key_active
from rooms.services import room_create
from tests.e2e.test_player_browser import CHROMIUM_ARGS

SECONDS = int(os.environ.get("BENCH_G2G_SECONDS", "300"))
WITH_LADDER = os.environ.get("BENCH_G2G_LADDER", "") == "1"
LADDER = "240p 240 300 48\n160p 160 150 32"
INTERVAL_S = 0.5
WARM_UP_S = 5
VIDEO_SIZE = (640, 360)
# The drawtext box in video pixels: 7 glyphs of 96 px DejaVu Sans Mono Bold, centred, inside its border.
TEXT_BOX = (100, 125, 540, 232)
VIDEO_FILTER = (
    "settb=AVTB,setpts=RTCTIME,"
    f"drawtext=fontfile={FONT}:"
    r"text='%{eif\:mod(t\,1000)\:d\:3}.%{eif\:mod(t*1000\,1000)\:d\:3}':"
    "fontsize=96:fontcolor=white:box=1:boxcolor=black:boxborderw=16:x=(w-tw)/2:y=(h-th)/2,"
    "setpts=N/(30*TB)"
)
READING = re.compile(r"^(\d{3})\.(\d{3})$")

# The clip of the text box in page pixels, from where the video's picture sits in its element.
CLIP_JS = """([x0, y0, x1, y1, vw, vh]) => {
  const video = document.querySelector('#player video');
  const r = video.getBoundingClientRect();
  const scale = Math.min(r.width / vw, r.height / vh);
  const left = r.left + (r.width - vw * scale) / 2, top = r.top + (r.height - vh * scale) / 2;
  return {x: left + x0 * scale, y: top + y0 * scale, width: (x1 - x0) * scale, height: (y1 - y0) * scale};
}"""
WATCH_WAITING_JS = """() => {
  window.benchWaiting = 0;
  document.querySelector('#player video').addEventListener('waiting', () => window.benchWaiting++);
}"""
# The rendition playing: the last playlist hls.js loaded (the source's or a rung's).
LEVEL_JS = """() => performance.getEntriesByType('resource').map(e => e.name)
  .filter(n => n.endsWith('.m3u8')).pop()"""
STATE_JS = "() => [document.querySelector('#player video').currentTime, window.benchWaiting]"


def capture_time(png: bytes, shot_at: float) -> float | None:
    """The burnt-in capture time (epoch seconds) read from a screenshot, or None if unreadable."""
    image = ImageOps.invert(Image.open(io.BytesIO(png)).convert("L"))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    text = subprocess.run(
        ["tesseract", "stdin", "stdout", "--psm", "7", "-c", "tessedit_char_whitelist=0123456789.:"],
        input=buffer.getvalue(), capture_output=True, timeout=30,
    ).stdout.decode().strip()  # fmt: skip
    match = READING.match(text)
    if not match:
        return None
    burnt = int(match[1]) + int(match[2]) / 1000
    captured = shot_at - shot_at % 1000 + burnt
    if captured > shot_at:  # the thousand turned over between capture and screenshot
        captured -= 1000
    return captured if shot_at - captured < 30 else None


def sample(page, clip: dict, seconds: float) -> list[tuple[float, float, bytes, float, int]]:
    """(screenshot time, screenshot duration, png, video time, waiting events) every INTERVAL_S."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tick = time.monotonic()
        before = time.time()
        png = page.screenshot(clip=clip, type="png")
        after = time.time()
        current, waiting = page.evaluate(STATE_JS)
        samples.append(((before + after) / 2, after - before, png, current, waiting))
        time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - tick)))
    return samples


def frozen_stalls(samples: list[tuple[float, float, bytes, float, int]]) -> int:
    stalls, frozen = 0, False
    for i, (at, _, _, current, _) in enumerate(samples):
        earlier = [s for s in samples[:i] if at - s[0] >= 1.0]
        now_frozen = bool(earlier) and current <= earlier[-1][3]
        stalls += now_frozen and not frozen
        frozen = now_frozen
    return stalls


def main() -> None:
    from playwright.sync_api import sync_playwright

    user, _ = User.objects.get_or_create(username="bench-g2g", defaults={"email": "g2g@example.com"})
    room = user.rooms.first() or room_create(owner=user, title="Glass to glass")
    key = stream_key_active(room=room).secret
    with ingest() as stack, ladder(stack, LADDER) if WITH_LADDER else contextlib.nullcontext():
        ffmpeg = publish(stack.publish_url(key), VIDEO_FILTER)
        try:
            wait_status(room, "live")
            if WITH_LADDER:
                wait_ladder_running(room)
            # Playwright's sync API runs an event loop in this thread; the ORM calls below are plain code.
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{stack.web_url}/rooms/{room.pk}/")
                page.wait_for_function(
                    "() => document.querySelector('#player video').currentTime > 0.5", timeout=30_000
                )
                page.wait_for_timeout(WARM_UP_S * 1000)
                page.evaluate(WATCH_WAITING_JS)
                clip = page.evaluate(CLIP_JS, [*TEXT_BOX, *VIDEO_SIZE])
                samples = sample(page, clip, SECONDS)
                level = page.evaluate(LEVEL_JS)
                browser.close()
            if ffmpeg.poll() is not None:
                raise SystemExit(f"ffmpeg exited early: {ffmpeg.stderr.read().decode()[-2000:]}")
        finally:
            stop(ffmpeg)
        wait_status(room, "idle")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        captured = list(pool.map(lambda s: capture_time(s[2], s[0]), samples))
    latencies = [s[0] - c for s, c in zip(samples, captured, strict=True) if c is not None]
    shot_ms = [s[1] * 1000 for s in samples]
    if not latencies:
        raise SystemExit("no screenshot could be read")
    print(
        f"glass-to-glass over {SECONDS} s ({len(samples)} samples, one every {INTERVAL_S} s), "
        f"{'with the ladder (' + LADDER.replace(chr(10), ', ') + ')' if WITH_LADDER else 'source only'}, "
        f"last playlist {level.rsplit('/', 1)[-1] if level else '?'}, load average {os.getloadavg()[0]:.2f}:"
    )
    print(
        f"  latency median={statistics.median(latencies):.2f} s p90={percentile(latencies, 90):.2f} s "
        f"min={min(latencies):.2f} s max={max(latencies):.2f} s (goal: median ≤ 2 s)"
    )
    print(f"  samples read={len(latencies)} unreadable={len(samples) - len(latencies)}")
    print(
        f"  stalls: currentTime frozen ≥ 1 s {frozen_stalls(samples)}, "
        f"waiting events {samples[-1][4]} (goal: none)"
    )
    print(f"  screenshot duration median={statistics.median(shot_ms):.0f} ms max={max(shot_ms):.0f} ms")


if __name__ == "__main__":
    main()
