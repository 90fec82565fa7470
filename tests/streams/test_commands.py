from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rooms.selectors import stream_key_active
from streams.models import Stream
from tests.e2e.conftest import free_port
from tests.factories import LiveRoomFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_stream_url_prints_the_demo_rooms_publish_url(settings):
    settings.RTMP_PUBLIC_URL = "rtmp://127.0.0.1:1935/live/"
    room = RoomFactory(owner=UserFactory(username="demo"))
    out = StringIO()
    call_command("demo_stream_url", stdout=out)
    assert out.getvalue().strip() == f"rtmp://127.0.0.1:1935/live/{stream_key_active(room=room).secret}"


def test_demo_stream_url_without_a_demo_room_fails_clearly():
    with pytest.raises(CommandError, match="demo"):
        call_command("demo_stream_url")


def test_reconcile_with_the_ingest_down_ends_nothing(settings):
    settings.INGEST_HTTP_URL = f"http://127.0.0.1:{free_port()}"
    LiveRoomFactory()
    out = StringIO()
    call_command("reconcile_ingest", stdout=out)
    assert "ended 0" in out.getvalue()
    assert Stream.objects.filter(status=Stream.Status.LIVE).count() == 1
