from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from accounts.services import site_settings_get
from chat.presence import room_live_announce
from rooms.models import Category, Follow, Room, StreamKey, Tag
from streams.models import RoomRecord, Stream
from vod.models import Vod

PASSWORD = "correct-Horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"tag {n}")
    slug = factory.Sequence(lambda n: f"tag-{n}")


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Room {n}")
    category = factory.SubFactory(CategoryFactory)

    @factory.post_generation
    def stream_key(obj, create, extracted, **kwargs):
        if create:
            StreamKey.objects.create(room=obj)


class LiveRoomFactory(RoomFactory):
    status = Room.Status.LIVE
    live_started_at = factory.LazyFunction(timezone.now)
    last_live_at = factory.SelfAttribute("live_started_at")
    viewer_count = factory.Sequence(lambda n: n)

    @factory.post_generation
    def live_stream(obj, create, extracted, **kwargs):
        if create:
            stream = Stream.objects.create(room=obj, started_at=obj.live_started_at, client_id="1")
            room_live_announce(room_id=obj.pk, stream_id=stream.pk, started_at=stream.started_at)
            RoomRecord.objects.create(room=obj, stream=stream, started_at=stream.started_at)


class StreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stream

    room = factory.SubFactory(RoomFactory)
    started_at = factory.LazyFunction(timezone.now)
    status = Stream.Status.ENDED
    ended_at = factory.LazyAttribute(lambda s: s.started_at + timedelta(hours=1))


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followed = factory.SubFactory(UserFactory)


class VodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vod

    room = factory.SubFactory(RoomFactory)
    title = factory.Sequence(lambda n: f"VOD {n}")
    status = Vod.Status.READY
    duration_s = 3600


def ladder_use(rungs) -> None:
    """Staff's ladder in the site settings (what streams.ladder reads), for this test."""
    site = site_settings_get()
    site.ladder = "\n".join(f"{r.name} {r.height} {r.video_kbps} {r.audio_kbps}" for r in rungs)
    site.save()
