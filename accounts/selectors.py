from django.db.models import Count, Q, QuerySet

from accounts.models import User
from streams.models import Stream
from vod.models import Vod


def users_public() -> QuerySet[User]:
    """Active users with the follower count their cards show."""
    return User.objects.filter(is_active=True).annotate(follower_count=Count("followers", distinct=True))


def user_profile(*, username: str) -> User | None:
    return (
        users_public()
        .annotate(following_count=Count("following", distinct=True))
        .filter(username=username)
        .first()
    )


def users_search(*, query: str) -> QuerySet[User]:
    return (
        users_public()
        .filter(Q(username__icontains=query) | Q(display_name__icontains=query))
        .order_by("-follower_count", "username")
    )


def user_streams_past(*, user: User) -> QuerySet[Stream]:
    return (
        Stream.objects.filter(room__owner=user, status=Stream.Status.ENDED)
        .select_related("room")
        .order_by("-started_at")
    )


def user_vods_ready(*, user: User) -> QuerySet[Vod]:
    return (
        Vod.objects.filter(room__owner=user, status=Vod.Status.READY)
        .select_related("room")
        .order_by("-created_at")
    )
