"""The ingest for benchmarks: real nginx-rtmp rendered into the bench folder, a Daphne whose hooks and
redirects line up with it, and ffmpeg publishers.

Import after ``common`` (which sets Django up).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, free_port, web_server

from rooms.models import Room

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
# As OBS would send it: x264 veryfast/zerolatency, a keyframe every second (30 fps), paced in real time.
FFMPEG_PUBLISH = [
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
    "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-c:a", "aac", "-f", "flv",
]  # fmt: skip


def wait_for(predicate, timeout: float = 10, what: str = "condition", interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Ingest:
    rtmp_port: int
    http_port: int
    web_url: str

    def publish_url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}"

    def hls_url(self, public_name: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/hls/{public_name}.m3u8"


@contextmanager
def ingest() -> Iterator[Ingest]:
    """nginx-rtmp and Daphne on free ports, writing HLS and recordings to the bench's HLS_ROOT/RECORDINGS_ROOT."""
    rtmp_port, http_port = free_port(), free_port()
    settings_env = {
        "RTMP_PORT": str(rtmp_port),
        "HLS_HTTP_PORT": str(http_port),
        "INGEST_HTTP_URL": f"http://127.0.0.1:{http_port}",
        # The room page's player fetches from this nginx.
        "HLS_PUBLIC_URL": f"http://127.0.0.1:{http_port}/hls",
    }
    conf = Path(os.environ["BENCH_TMP"]) / "nginx" / "nginx.conf"
    with web_server(settings_env) as web_url:
        # nginx calls the hooks of this Daphne, whose port is only known now.
        subprocess.run(
            [sys.executable, "manage.py", "render_rtmp_config", "--output", str(conf)],
            cwd=ROOT,
            env={**os.environ, **settings_env, "RTMP_HOOK_BASE_URL": web_url},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        log = (conf.parent / "nginx.out").open("ab")
        # Its own process group, so the stop below takes the workers too.
        nginx = subprocess.Popen(
            ["nginx", "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: port_open(rtmp_port) and port_open(http_port), what="nginx ports")
            yield Ingest(rtmp_port=rtmp_port, http_port=http_port, web_url=web_url)
        finally:
            if nginx.poll() is None:
                os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=10)
            log.close()


def publish(url: str, video_filter: str | None = None, size: str = "640x360") -> subprocess.Popen:
    """An ffmpeg test pattern of ``size`` published to ``url`` until stopped."""
    args = [arg.replace("size=640x360", f"size={size}") for arg in FFMPEG_PUBLISH]
    if video_filter:
        args[args.index("-c:v") : args.index("-c:v")] = ["-vf", video_filter]
    return subprocess.Popen([*args, url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(ffmpeg: subprocess.Popen) -> None:
    if ffmpeg.poll() is None:
        ffmpeg.send_signal(signal.SIGINT)
        try:
            ffmpeg.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ffmpeg.kill()
            ffmpeg.wait()


def wait_status(room: Room, status: str, timeout: float = 15) -> None:
    wait_for(
        lambda: Room.objects.values_list("status", flat=True).get(pk=room.pk) == status,
        timeout=timeout,
        what=f"the room to be {status}",
    )


@contextmanager
def ladder(stack: Ingest, rungs: str) -> Iterator[None]:
    """The site's ladder set to ``rungs`` (SiteSettings.ladder lines) and a ladder supervisor in this process
    transcoding for ``stack``, as a worker on the ingest's host would."""
    from django.test import override_settings

    from accounts.services import site_settings_get
    from streams.transcoder import LadderSupervisor

    site = site_settings_get()
    site.ladder, site.ladder_max_streams = rungs, 1
    site.save()
    with override_settings(
        RTMP_PORT=stack.rtmp_port, INGEST_HTTP_URL=f"http://127.0.0.1:{stack.http_port}", LADDER_TICK_S=0.5
    ):
        supervisor = LadderSupervisor(node="bench")
        supervisor.start()
        try:
            yield
        finally:
            supervisor.stop()


def wait_ladder_running(room: Room, timeout: float = 60) -> int:
    """The pid of the room's running transcoder, once its master playlist is served."""
    from streams.models import LadderState, Stream

    return wait_for(
        lambda: (
            Stream.objects.filter(room=room, status="live", ladder_state=LadderState.RUNNING)
            .values_list("ladder_pid", flat=True)
            .first()
        ),
        timeout=timeout,
        what="the quality ladder to run",
        interval=0.2,
    )
