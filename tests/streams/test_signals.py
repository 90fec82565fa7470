"""streams announces go-live and finished recordings through its signals, once, after the commit that
caused them, and never when that transaction rolls back."""

import pytest
from django.db import transaction

from rooms.selectors import stream_key_active
from streams import services
from streams.signals import recording_done, stream_started
from tests.factories import RoomFactory, StreamFactory

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def heard():
    """What each streams signal carried, by signal name."""
    calls = {"stream_started": [], "recording_done": []}
    receivers = {
        stream_started: lambda sender, **kwargs: calls["stream_started"].append(kwargs),
        recording_done: lambda sender, **kwargs: calls["recording_done"].append(kwargs),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver, weak=False)
    yield calls
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def go_live(room, client_id="1"):
    return services.stream_publish(secret=stream_key_active(room=room).secret, client_id=client_id, addr="")


def test_stream_started_is_sent_once_the_go_live_commits(heard, django_capture_on_commit_callbacks):
    room = RoomFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stream = go_live(room)
    assert heard["stream_started"] == []  # not before the commit
    for callback in callbacks:  # the commit
        callback()
    assert heard["stream_started"] == [{"signal": stream_started, "stream_id": stream.pk, "room_id": room.pk}]


def test_the_same_encoder_publishing_again_starts_nothing(heard, django_capture_on_commit_callbacks):
    room = RoomFactory()
    with django_capture_on_commit_callbacks(execute=True):
        go_live(room, client_id="7")
    with django_capture_on_commit_callbacks(execute=True) as again:
        go_live(room, client_id="7")
    assert again == []
    assert len(heard["stream_started"]) == 1


def test_a_rolled_back_go_live_sends_nothing(heard, django_capture_on_commit_callbacks):
    room = RoomFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        go_live(room)
        raise Rollback
    assert callbacks == []
    assert heard["stream_started"] == []
    assert not room.streams.exists()


def test_recording_done_is_sent_once_after_commit(heard, django_capture_on_commit_callbacks):
    stream = StreamFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.stream_recorded(stream=stream, path="/recordings/a.flv")
    assert heard["recording_done"] == []
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):  # nginx repeating the hook
        services.stream_recorded(stream=stream, path="/recordings/a.flv")
    assert heard["recording_done"] == [{"signal": recording_done, "stream_id": stream.pk}]


def test_a_rolled_back_recording_sends_nothing(heard, django_capture_on_commit_callbacks):
    stream = StreamFactory()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Rollback), transaction.atomic():
        services.stream_recorded(stream=stream, path="/recordings/a.flv")
        raise Rollback
    assert heard["recording_done"] == []


def test_a_failing_receiver_neither_stops_the_others_nor_the_caller(
    django_capture_on_commit_callbacks, caplog
):
    after = []

    def broken(sender, **kwargs):
        raise ConnectionError("broker down")

    def later(sender, **kwargs):
        after.append(kwargs["stream_id"])

    stream_started.connect(broken, weak=False)
    stream_started.connect(later, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            stream = go_live(RoomFactory())
    finally:
        stream_started.disconnect(broken)
        stream_started.disconnect(later)
    assert after == [stream.pk]
    assert "broker down" in caplog.text
