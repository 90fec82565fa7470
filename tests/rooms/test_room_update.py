import pytest

from chat.selectors import room_chat_rules
from rooms.services import room_update
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


def test_turning_comments_off_on_the_dashboard_reaches_the_cached_chat_rules(
    django_capture_on_commit_callbacks,
):
    room = RoomFactory(allow_comments=True)
    assert room_chat_rules(room.pk).allow_comments is True  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        room_update(room=room, changes={"allow_comments": False})
    assert room_chat_rules(room.pk).allow_comments is False
