"""Reads of the streamer dashboard: the owner's room, its live stream, past streams and their viewers."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import StreamerApplication, User
from chat.models import ChatBan
from rooms.models import Room
from streams.models import Stream, ViewerSample


def dashboard_room(*, owner: User) -> Room | None:
    """The room the dashboard manages: the owner's first one (the URL never names a room)."""
    return Room.objects.filter(owner=owner).select_related("category").order_by("created_at").first()


def stream_live(*, room: Room) -> Stream | None:
    return Stream.objects.filter(room=room, status=Stream.Status.LIVE).first()


def streams_past(*, room: Room) -> QuerySet[Stream]:
    """Ended streams with their stats row joined in, newest first."""
    return (
        Stream.objects.filter(room=room, status=Stream.Status.ENDED)
        .select_related("record")
        .order_by("-started_at")
    )


def stream_of_owner(*, owner: User, pk: int) -> Stream | None:
    return Stream.objects.filter(pk=pk, room__owner=owner).first()


def viewer_series(*, stream: Stream) -> list[tuple[str, int]]:
    """The stream's viewer samples as (ISO time, viewers) pairs, oldest first."""
    samples = ViewerSample.objects.filter(stream=stream).order_by("at").values_list("at", "viewers")
    return [(at.isoformat(), viewers) for at, viewers in samples]


def streamer_application_latest(*, user: User) -> StreamerApplication | None:
    return StreamerApplication.objects.filter(user=user).order_by("-created_at").first()


def room_moderators(*, room: Room) -> QuerySet[User]:
    return room.moderators.order_by("username")


def room_bans_active(*, room: Room) -> QuerySet[ChatBan]:
    """The room's bans and timeouts still in force (sitewide bans are staff's, not listed), newest first."""
    return (
        ChatBan.objects.filter(room=room)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .select_related("user")
        .order_by("-created_at")
    )
