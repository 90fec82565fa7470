"""A clip that becomes ready reaches the streamer's webhook as clip.created (sent by webhooks, above clips)."""

import pytest
from django.db import transaction

from clips import services
from clips.models import Clip
from tests.factories import RoomFactory, UserFactory
from tests.webhooks.conftest import allow_loopback, endpoint_for, receiver  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_eager")]


def test_a_ready_clip_is_delivered_as_clip_created(receiver, endpoint_for):  # noqa: F811
    room = RoomFactory()
    maker = UserFactory()
    clip = Clip.objects.create(room=room, created_by=maker, title="Wow", source="live", requested_s=10)
    endpoint_for(room.owner, ["clip.created"])
    with transaction.atomic():
        services._publish(
            clip_id=clip.pk, playlist_path="c/x.m3u8", thumbnail_path="", duration_s=10.0, start_ms=0
        )
    [request] = receiver.requests
    assert request["signed"]
    assert request["body"]["event"] == "clip.created"
    assert request["body"]["data"]["clip"] == {
        "slug": clip.slug,
        "title": "Wow",
        "duration_s": 10.0,
        "path": f"/clips/{clip.slug}/",
    }
    assert request["body"]["data"]["created_by"]["username"] == maker.username


def test_a_failed_clip_sends_nothing(receiver, endpoint_for):  # noqa: F811
    room = RoomFactory()
    clip = Clip.objects.create(room=room, created_by=None, title="x", source="live", requested_s=10)
    endpoint_for(room.owner, ["clip.created"])
    services.clip_fail(clip=clip, reason="gone")
    assert receiver.requests == []
