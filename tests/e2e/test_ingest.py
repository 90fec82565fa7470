"""The ingest end to end: real nginx-rtmp calling the hooks of a real web process, real ffmpeg publishing.

The web process here is started per module rather than through conftest's ``web_server``: the hooks answer
with a redirect to nginx's RTMP port, so this server must know the ports of the nginx started below.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from celery.exceptions import MaxRetriesExceededError
from django.test import override_settings
from django.utils import timezone

from rooms.models import Room
from rooms.selectors import stream_key_active
from rooms.services import stream_key_reset
from streamlite.celery import app as celery_app
from streams import services
from streams.ingest import ingest_publishers, rtmp_config_render
from streams.models import Stream
from streams.selectors import BAD_KEY_LIMIT
from streams.tasks import ingest_drop_publisher, ingest_reconcile
from tests.e2e.conftest import free_port, running_web, shared_database_url
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FFMPEG_PUBLISH = [
    "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
    "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
    "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-c:a", "aac", "-f", "flv",
]  # fmt: skip


def wait_for(predicate, timeout: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Ingest:
    """A real nginx with the rendered config, in its own process group so a kill takes its workers too."""

    def __init__(self, folder: Path, rtmp_port: int, http_port: int):
        self.folder, self.rtmp_port, self.http_port = folder, rtmp_port, http_port
        self.hls_root, self.recordings_root = folder / "hls", folder / "recordings"
        self.conf = folder / "nginx" / "nginx.conf"
        self.process: subprocess.Popen | None = None
        self.web_url = ""

    def start(self) -> None:
        log = (self.folder / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            ["nginx", "-p", str(self.conf.parent), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.rtmp_port) and port_open(self.http_port), what="nginx ports")

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signum)
            self.process.wait(timeout=10)
        # Workers outlive a killed master for a moment: wait until the ports are free again.
        wait_for(lambda: not port_open(self.rtmp_port), what="nginx to let go of its port")

    def publish_url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}"

    def hls_url(self, public_name: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/hls/{public_name}.m3u8"


@pytest.fixture(scope="module")
def ingest(django_db_setup, django_db_blocker):
    folder = Path(tempfile.mkdtemp(prefix="streamlite-ingest-"))
    # Started as root, nginx's workers run as nobody and must reach the HLS and recordings folders.
    folder.chmod(0o755)
    ingest = Ingest(folder, rtmp_port=free_port(), http_port=free_port())
    web_port = free_port()
    overrides = {
        "RTMP_PORT": ingest.rtmp_port,
        "HLS_HTTP_PORT": ingest.http_port,
        "INGEST_HTTP_URL": f"http://127.0.0.1:{ingest.http_port}",
        "RTMP_HOOK_BASE_URL": f"http://127.0.0.1:{web_port}",
        "HLS_ROOT": str(ingest.hls_root),
        "RECORDINGS_ROOT": str(ingest.recordings_root),
        "RTMP_UPDATE_INTERVAL_S": 10,
        # Pages served by this web server point their players at this nginx (the browser test).
        "HLS_PUBLIC_URL": f"http://127.0.0.1:{ingest.http_port}/hls",
    }
    with override_settings(**overrides):
        rtmp_config_render(output=ingest.conf)
        with django_db_blocker.unblock():
            database_url = shared_database_url()
        env = {**os.environ, **{name: str(value) for name, value in overrides.items()}}
        env["DATABASE_URL"] = database_url
        # No worker runs here: the hooks' follow-ups (the room state pushed to the room's websockets) run
        # inside the web server, as a worker would run them.
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
        try:
            with running_web(port=web_port, env=env, log=folder / "web.log") as web_url:
                ingest.web_url = web_url
                ingest.start()
                yield ingest
        finally:
            ingest.signal(signal.SIGTERM)
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def publishers():
    """Start ffmpeg publishers; whatever still runs is killed after the test."""
    started = []

    def start(url: str) -> subprocess.Popen:
        process = subprocess.Popen([*FFMPEG_PUBLISH, url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
    # nginx now calls publish_done (and record_done) on the web server, whose writes must be over before
    # the test database is emptied: a TRUNCATE racing them can deadlock.
    deadline = time.monotonic() + 5
    while Stream.objects.filter(status=Stream.Status.LIVE).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


def room_status(room: Room) -> str:
    return Room.objects.values_list("status", flat=True).get(pk=room.pk)


def wait_live(room: Room) -> None:
    wait_for(lambda: room_status(room) == Room.Status.LIVE, what="the room to go live")


def wait_idle(room: Room, timeout: float = 10) -> None:
    wait_for(lambda: room_status(room) == Room.Status.IDLE, timeout=timeout, what="the room to go idle")


def test_publish_plays_under_the_public_name_and_stopping_ends_it(ingest, publishers):
    room = RoomFactory()
    key = stream_key_active(room=room).secret
    ffmpeg = publishers(ingest.publish_url(key))
    wait_live(room)
    playlist = ingest.hls_root / f"{room.public_name}.m3u8"
    wait_for(lambda: playlist.exists() and ".ts" in playlist.read_text(), what="the HLS playlist")
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name",
         "-of", "csv=p=0", ingest.hls_url(room.public_name)],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"h264"}, probe.stderr
    assert key not in playlist.read_text()
    assert not [path for path in ingest.folder.rglob("*") if key in path.name]
    assert ingest_reconcile() == 0
    stream = Stream.objects.get(room=room)
    assert (stream.status, stream.resolution, stream.video_codec) == (Stream.Status.LIVE, "640x360", "H264")
    with urlopen(f"{ingest.web_url}/rooms/{room.pk}/", timeout=10) as page:  # noqa: S310 (loopback)
        assert key not in page.read().decode()

    ffmpeg.send_signal(signal.SIGINT)
    ffmpeg.wait(timeout=10)
    wait_idle(room)
    stream = Stream.objects.get(room=room)
    assert (stream.status, stream.end_reason) == (Stream.Status.ENDED, "publish_done")
    stream = wait_for(
        lambda: Stream.objects.exclude(recording_path="").filter(room=room).first(), what="record_done"
    )
    assert Path(stream.recording_path).parent == ingest.recordings_root
    assert key not in stream.recording_path
    # The web server logs at INFO: no line of it may carry the key.
    assert key not in (ingest.folder / "web.log").read_text()


def test_wrong_key_fails_and_opens_no_stream(ingest, publishers):
    RoomFactory()
    ffmpeg = publishers(ingest.publish_url("sk_this_key_was_never_issued_by_us_0123"))
    assert ffmpeg.wait(timeout=10) != 0
    assert not Stream.objects.exists()


@pytest.mark.parametrize("secret", ["", "not-the-hook-secret"])
def test_a_hook_call_without_the_secret_is_refused_and_changes_nothing(ingest, secret):
    room = RoomFactory()
    fields = {"call": "publish", "app": "live", "name": stream_key_active(room=room).secret, "clientid": "1"}
    request = Request(  # noqa: S310 (loopback)
        f"{ingest.web_url}/hooks/rtmp/publish?secret={secret}", data=urlencode(fields).encode(), method="POST"
    )
    with pytest.raises(HTTPError) as refused:
        urlopen(request, timeout=10)  # noqa: S310 (loopback)
    assert refused.value.code == 403
    assert room_status(room) == Room.Status.IDLE
    assert not Stream.objects.exists()


def test_an_address_trying_many_wrong_keys_is_refused_even_with_the_right_one(ingest, publishers):
    room = RoomFactory()
    for attempt in range(BAD_KEY_LIMIT):
        assert (
            publishers(ingest.publish_url(f"sk_guessed_key_number_{attempt:04d}_xxxxxxxx")).wait(timeout=10)
            != 0
        )
    right = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    assert right.wait(timeout=10) != 0
    assert not Stream.objects.exists()


def test_second_publisher_with_the_same_key_is_refused(ingest, publishers):
    room = RoomFactory()
    url = ingest.publish_url(stream_key_active(room=room).secret)
    first = publishers(url)
    wait_live(room)
    second = publishers(url)
    assert second.wait(timeout=10) != 0
    assert first.poll() is None
    assert Stream.objects.filter(room=room, status=Stream.Status.LIVE).count() == 1


def test_killed_publisher_ends_the_stream(ingest, publishers):
    room = RoomFactory()
    ffmpeg = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    ffmpeg.kill()
    ffmpeg.wait()
    wait_idle(room)


def test_killed_ingest_is_reconciled_and_the_key_publishes_again(ingest, publishers):
    room = RoomFactory()
    url = ingest.publish_url(stream_key_active(room=room).secret)
    publishers(url)
    wait_live(room)
    # A stream that has been live a while, so the reconcile's grace for brand-new publishers is over.
    Stream.objects.filter(room=room).update(
        started_at=Stream.objects.get(room=room).started_at.replace(year=2000)
    )
    ingest.signal(signal.SIGKILL)
    ingest.start()
    assert ingest_reconcile() == 1
    assert room_status(room) == Room.Status.IDLE
    publishers(url)
    wait_live(room)
    assert Stream.objects.filter(room=room).count() == 2


def test_killed_ingest_without_restart_is_reaped(ingest, publishers, settings):
    room = RoomFactory()
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    ingest.signal(signal.SIGKILL)
    try:
        settings.RTMP_UPDATE_INTERVAL_S = 0
        assert services.streams_reap_stale() == 1
        assert room_status(room) == Room.Status.IDLE
    finally:
        ingest.start()


def key_reset_with_its_drop(room: Room) -> None:
    """The owner resets the key; the drop task it queues runs here, as a worker would run it."""
    celery_app.conf.task_always_eager = True
    try:
        stream_key_reset(room=room, by=room.owner)
    finally:
        celery_app.conf.task_always_eager = False


@pytest.fixture
def second_ingest(ingest):
    """Another ingest node calling the same web server's hooks, with its own ports and folders."""
    folder = Path(tempfile.mkdtemp(prefix="streamlite-ingest-b-"))
    folder.chmod(0o755)
    node = Ingest(folder, rtmp_port=free_port(), http_port=free_port())
    node.web_url = ingest.web_url
    with override_settings(
        RTMP_PORT=node.rtmp_port,
        HLS_HTTP_PORT=node.http_port,
        HLS_ROOT=str(node.hls_root),
        RECORDINGS_ROOT=str(node.recordings_root),
    ):
        rtmp_config_render(output=node.conf)
    node.start()
    try:
        yield node
    finally:
        node.signal(signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_ingest_nodes_are_reconciled_and_dropped_together(ingest, second_ingest, publishers, settings):
    on_first, on_second = RoomFactory(), RoomFactory()
    first_key, second_key = (stream_key_active(room=r).secret for r in (on_first, on_second))
    publishers(ingest.publish_url(first_key))
    on_second_ffmpeg = publishers(second_ingest.publish_url(second_key))
    wait_live(on_first)
    wait_live(on_second)
    # Both live long enough for the reconcile's grace for brand-new publishers to be over.
    Stream.objects.update(started_at=timezone.now() - timedelta(minutes=5))
    settings.INGEST_HTTP_URL = (
        f"http://127.0.0.1:{ingest.http_port},http://127.0.0.1:{second_ingest.http_port}"
    )
    wait_for(lambda: len(ingest_publishers()) == 2, what="both nodes to list their publisher")

    assert ingest_reconcile() == 0
    assert (room_status(on_first), room_status(on_second)) == (Room.Status.LIVE, Room.Status.LIVE)

    # A key reset reaches the node that carries the encoder.
    key_reset_with_its_drop(on_second)
    assert on_second_ffmpeg.wait(timeout=10) != 0
    wait_idle(on_second)
    assert room_status(on_first) == Room.Status.LIVE


def test_a_drop_before_nginx_lists_the_publisher_is_tried_again(ingest):
    """Live in the database, not (yet) publishing in nginx: the drop is retried, not counted as done."""
    room = RoomFactory()
    key = stream_key_active(room=room)
    services.stream_publish(secret=key.secret, client_id="4242", addr="127.0.0.1")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])

    result = ingest_drop_publisher.apply(kwargs={"stream_key_id": key.pk})

    assert isinstance(result.result, MaxRetriesExceededError)
    assert result.state == "FAILURE"


def test_key_reset_while_live_drops_the_publisher(ingest, publishers):
    room = RoomFactory()
    old_key = stream_key_active(room=room).secret
    ffmpeg = publishers(ingest.publish_url(old_key))
    wait_live(room)
    # The room is live once the hook answered; nginx lists the publisher a moment later.
    wait_for(lambda: any(p.name == old_key for p in ingest_publishers()), what="nginx to list the publisher")
    key_reset_with_its_drop(room)
    assert ffmpeg.wait(timeout=10) != 0
    wait_idle(room)
    again = publishers(ingest.publish_url(old_key))
    assert again.wait(timeout=10) != 0
    assert room_status(room) == Room.Status.IDLE
