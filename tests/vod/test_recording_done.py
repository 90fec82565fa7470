"""A recording the ingest finished becomes a VOD through streams' recording_done signal: after the
commit that stored it, never after a rollback."""

import time
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import reverse

from tests.factories import StreamFactory
from tests.vod.conftest import ffmpeg_recording
from vod.models import Vod

pytestmark = pytest.mark.django_db

HOOK_SECRET = "test-hook-secret"


class Rollback(Exception):
    pass


@pytest.fixture
def recorded(recordings_root, settings):
    """An ended stream and the real recording nginx wrote for it, not yet reported."""
    settings.RTMP_HOOK_SECRET = HOOK_SECRET
    stream = StreamFactory()
    path = ffmpeg_recording(recordings_root / f"{stream.room.public_name}-{int(time.time())}.flv", seconds=1)
    return stream, str(path)


def record_done(client, stream, path):
    url = reverse("rtmp_hooks:record_done") + "?" + urlencode({"secret": HOOK_SECRET})
    fields = {"app": "hls", "name": stream.room.public_name, "clientid": "9", "path": path}
    return client.post(url, fields)


def test_the_vod_is_made_once_the_recording_is_committed(
    client, recorded, celery_eager, django_capture_on_commit_callbacks
):
    stream, path = recorded
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert record_done(client, stream, path).status_code == 200
    assert not Vod.objects.exists()
    for callback in callbacks:  # the commit
        callback()
    assert Vod.objects.get(stream=stream).status == Vod.Status.READY


def test_a_rolled_back_recording_makes_no_vod(
    client, recorded, celery_eager, django_capture_on_commit_callbacks
):
    stream, path = recorded
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Rollback), transaction.atomic():
        assert record_done(client, stream, path).status_code == 200
        raise Rollback
    assert not Vod.objects.exists()
    stream.refresh_from_db()
    assert stream.recording_path == ""
