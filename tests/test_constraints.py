import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from rooms.models import Follow, Room
from streams.models import Stream

pytestmark = pytest.mark.django_db


def make_user(name):
    return User.objects.create_user(username=name, email=f"{name}@example.com", password="x-Strong-pass-1")


def test_database_refuses_self_follow():
    alice = make_user("alice")
    with pytest.raises(IntegrityError):
        Follow.objects.create(follower=alice, followed=alice)


def test_database_refuses_second_follow_of_same_pair():
    alice, bob = make_user("alice"), make_user("bob")
    Follow.objects.create(follower=alice, followed=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followed=bob)
    assert Follow.objects.count() == 1


def test_database_refuses_second_live_stream_in_a_room():
    room = Room.objects.create(owner=make_user("alice"), title="Room")
    Stream.objects.create(room=room, started_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Stream.objects.create(room=room, started_at=timezone.now())
    Stream.objects.create(
        room=room, started_at=timezone.now(), status=Stream.Status.ENDED, ended_at=timezone.now()
    )
