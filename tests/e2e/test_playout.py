"""Scheduled playout end to end: the worker's supervisor sends a video into our real nginx-rtmp ingest
with the room's key, so it goes live through the same hooks as OBS (followers notified, room live)."""

import asyncio
import json
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import websockets
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.utils import timezone

from accounts.models import Plan
from accounts.plans import user_plan_set
from notifications.models import Notification
from relay import services
from relay.models import Playout
from rooms.models import Room
from rooms.selectors import stream_key_active
from streamlite.settings.storage import MEDIA_ROOT as SERVER_MEDIA_ROOT
from streams.models import Stream
from tests.e2e import test_ingest, test_restream
from tests.e2e.conftest import running_celery_worker
from tests.e2e.test_ingest import wait_for, wait_idle, wait_live
from tests.e2e.test_restream import GOOD_KEY, command_lines, process_alive, relay_worker_env
from tests.e2e.test_two_nodes import bearer
from tests.factories import FollowFactory, RoomFactory, UserFactory
from vod.models import Vod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ingest = test_ingest.ingest
publishers = test_ingest.publishers
platform = test_restream.platform


@pytest.fixture
def worker_env(ingest, django_db_blocker):
    return relay_worker_env(ingest, django_db_blocker)


def video_file(folder: Path, seconds: int) -> SimpleUploadedFile:
    path = folder / f"clip-{seconds}.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/mp4")


def streamer_with_hours(room: Room) -> None:
    plan = Plan.objects.create(
        name=f"test-{uuid.uuid4().hex[:6]}", playout_hours_per_month=10, destinations_per_room=2
    )
    user_plan_set(user=room.owner, plan=plan)


def playout_state(playout: Playout) -> str:
    return Playout.objects.values_list("state", flat=True).get(pk=playout.pk)


def wait_playout(playout: Playout, state: str, timeout: float = 30) -> None:
    def reached() -> bool:
        now = Playout.objects.get(pk=playout.pk)
        assert now.state != Playout.State.FAILED or state == Playout.State.FAILED, f"failed: {now.error}"
        return now.state == state

    wait_for(reached, timeout=timeout, what=f"the playout to be {state}")


def live_notifications(user) -> int:
    return Notification.objects.filter(recipient=user, kind=Notification.Kind.LIVE_STARTED).count()


def stays_live_past(room: Room, *, seconds: float) -> None:
    """The room is live at every look for ``seconds`` (longer than its video: a loop)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert Room.objects.get(pk=room.pk).status == Room.Status.LIVE
        time.sleep(0.25)


def vod_of_a_short_stream(ingest, publishers, room: Room) -> Vod:
    """A real VOD: a few seconds from ffmpeg through the ingest, recorded and processed as any stream."""
    encoder = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    playlist = ingest.hls_root / f"{room.public_name}.m3u8"
    wait_for(
        lambda: playlist.exists() and playlist.read_text().count(".ts") >= 3,
        timeout=30,
        what="a few seconds of stream",
    )
    encoder.send_signal(signal.SIGINT)
    encoder.wait(timeout=10)
    wait_idle(room)
    return wait_for(
        lambda: Vod.objects.filter(room=room, status=Vod.Status.READY).first(), timeout=60, what="the VOD"
    )


async def danmaku_round(ingest, room: Room, user) -> list[dict]:
    """A viewer's socket on the room: sends one danmaku; returns the events up to its own danmaku back."""
    url = ingest.web_url.replace("http", "ws", 1) + f"/ws/rooms/{room.pk}/"
    events: list[dict] = []
    async with websockets.connect(
        url, origin=ingest.web_url, additional_headers=bearer(user), open_timeout=10
    ) as socket:
        frame = {"type": "danmaku", "text": "first!", "mode": "scroll", "client_id": "d1"}
        await socket.send(json.dumps(frame))
        # Its own danmaku may come back before the ack: read until the ack (or an error) is in too.
        while not any(event["type"] in ("ack", "error") for event in events) or not any(
            event["type"] in ("danmaku", "error") for event in events
        ):
            data = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
            events.extend(data["events"] if data["type"] == "batch" else [data])
    return events


def test_a_vod_goes_live_like_obs_loops_until_cancelled_and_once_ends_with_its_video(
    ingest, publishers, worker_env, tmp_path
):
    worker_env["MEDIA_ROOT"] = str(SERVER_MEDIA_ROOT)  # where the ingest's web server stores the VOD
    room = RoomFactory()
    streamer_with_hours(room)
    vod = vod_of_a_short_stream(ingest, publishers, room)
    # That stream is long over: a broadcast now is a new one to announce, not a reconnect.
    Stream.objects.filter(room=room).update(
        started_at=F("started_at") - timedelta(hours=1), ended_at=F("ended_at") - timedelta(hours=1)
    )
    follower = FollowFactory(followed=room.owner).follower
    looped = services.playout_create(
        user=room.owner, room=room, vod=vod, starts_at=timezone.now() + timedelta(seconds=2), loop=True
    )
    with running_celery_worker(
        name=f"playout-{uuid.uuid4().hex[:6]}", env=worker_env, log=tmp_path / "w.log"
    ):
        wait_playout(looped, Playout.State.LIVE)
        wait_live(room)
        stream = Stream.objects.get(room=room, status=Stream.Status.LIVE)
        assert stream.pk != vod.stream_id
        wait_for(lambda: live_notifications(follower) == 1, what="the follower's notification")
        # Chat and danmaku are open as for any live stream: a danmaku gets its place in this stream's time.
        events = asyncio.run(danmaku_round(ingest, room, UserFactory()))
        assert [event for event in events if event["type"] == "error"] == []
        assert {"type": "room_state", "status": "live"}.items() <= next(
            event for event in events if event["type"] == "room_state"
        ).items()
        assert [event["client_id"] for event in events if event["type"] == "ack"] == ["d1"]
        assert next(event for event in events if event["type"] == "danmaku")["vpos_ms"] > 0

        stays_live_past(room, seconds=vod.duration_s + 3)
        pid = Playout.objects.get(pk=looped.pk).pid
        assert services.playout_cancel(playout=looped)
        wait_idle(room, timeout=20)
        wait_for(lambda: not process_alive(pid), what="the playout's ffmpeg to end")
        assert live_notifications(follower) == 1

        # Not looped, it ends with its video.
        once = services.playout_create(user=room.owner, room=room, vod=vod, starts_at=timezone.now())
        wait_playout(once, Playout.State.LIVE)
        wait_live(room)
        wait_playout(once, Playout.State.ENDED)
        wait_idle(room, timeout=20)
    assert playout_state(looped) == Playout.State.CANCELLED
    # The rerun followed the first broadcast within the reconnect window: not announced again.
    assert live_notifications(follower) == 1


def test_a_scheduled_video_goes_live_at_its_time_notifies_followers_once_feeds_destinations_and_ends(
    ingest, platform, worker_env, tmp_path, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    room = RoomFactory()
    streamer_with_hours(room)
    services.destination_create(user=room.owner, room=room, name="Platform", url=platform.url, key=GOOD_KEY)
    follower = FollowFactory(followed=room.owner).follower
    starts_at = timezone.now() + timedelta(seconds=3)
    playout = services.playout_create(
        user=room.owner, room=room, upload=video_file(tmp_path, seconds=8), starts_at=starts_at
    )
    assert playout.state == Playout.State.SCHEDULED
    with running_celery_worker(
        name=f"playout-{uuid.uuid4().hex[:6]}", env=worker_env, log=tmp_path / "w.log"
    ):
        wait_for(
            lambda: Room.objects.get(pk=room.pk).status == Room.Status.LIVE,
            timeout=20,
            what="the room to go live",
        )
        assert timezone.now() >= starts_at
        wait_for(lambda: playout_state(playout) == Playout.State.LIVE, what="the playout to be live")
        wait_for(lambda: live_notifications(follower) == 1, what="the follower's notification")
        assert GOOD_KEY in wait_for(platform.publishing, what="the restream destination to be fed")
        # The room's stream key never shows in a process listing.
        assert room.stream_keys.first().secret not in command_lines()
        wait_idle(room, timeout=30)
        wait_for(lambda: playout_state(playout) == Playout.State.ENDED, what="the playout to end")
    assert live_notifications(follower) == 1
    ended = Playout.objects.get(pk=playout.pk)
    assert ended.started_at and ended.ended_at and ended.pid is None


def test_a_looped_playout_runs_past_its_video_until_cancelled(ingest, worker_env, tmp_path):
    room = RoomFactory()
    streamer_with_hours(room)
    playout = services.playout_create(
        user=room.owner,
        room=room,
        upload=video_file(tmp_path, seconds=2),
        starts_at=timezone.now(),
        loop=True,
    )
    with running_celery_worker(
        name=f"playout-{uuid.uuid4().hex[:6]}", env=worker_env, log=tmp_path / "w.log"
    ):
        wait_for(
            lambda: playout_state(playout) == Playout.State.LIVE, timeout=20, what="the playout to be live"
        )
        wait_live(room)
        pid = Playout.objects.get(pk=playout.pk).pid
        stays_live_past(room, seconds=6)
        assert services.playout_cancel(playout=playout)
        wait_idle(room, timeout=20)
        wait_for(lambda: not process_alive(pid), what="the playout's ffmpeg to end")
    assert playout_state(playout) == Playout.State.CANCELLED
