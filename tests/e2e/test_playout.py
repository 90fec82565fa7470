"""Scheduled playout end to end: the worker's supervisor sends a video into our real nginx-rtmp ingest
with the room's key, so it goes live through the same hooks as OBS (followers notified, room live)."""

import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Plan
from accounts.plans import user_plan_set
from notifications.models import Notification
from relay import services
from relay.models import Playout
from rooms.models import Room
from tests.e2e import test_ingest
from tests.e2e.conftest import running_celery_worker
from tests.e2e.test_ingest import wait_for, wait_idle, wait_live
from tests.e2e.test_restream import command_lines, process_alive, relay_worker_env
from tests.factories import FollowFactory, RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ingest = test_ingest.ingest


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
    plan = Plan.objects.create(name=f"test-{uuid.uuid4().hex[:6]}", playout_hours_per_month=10)
    user_plan_set(user=room.owner, plan=plan)


def playout_state(playout: Playout) -> str:
    return Playout.objects.values_list("state", flat=True).get(pk=playout.pk)


def live_notifications(user) -> int:
    return Notification.objects.filter(recipient=user, kind=Notification.Kind.LIVE_STARTED).count()


def test_a_scheduled_video_goes_live_at_its_time_notifies_followers_once_and_ends(
    ingest, worker_env, tmp_path
):
    room = RoomFactory()
    streamer_with_hours(room)
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
        deadline = timezone.now() + timedelta(seconds=6)
        while timezone.now() < deadline:
            assert Room.objects.get(pk=room.pk).status == Room.Status.LIVE
        assert services.playout_cancel(playout=playout)
        wait_idle(room, timeout=20)
        wait_for(lambda: not process_alive(pid), what="the playout's ffmpeg to end")
    assert playout_state(playout) == Playout.State.CANCELLED
