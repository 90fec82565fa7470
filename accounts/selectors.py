from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from rooms.models import Follow
from streams.models import Stream
from vod.models import Vod


def follow_count(*, user_field: str, user_ref: str = "pk") -> Coalesce:
    """How many follows have the outer query's ``user_ref`` in ``user_field`` ("followed" or "follower").

    One COUNT per user rather than a join: two counted joins would multiply a star's followers by the
    people they follow before counting."""
    follows = (
        Follow.objects.filter(**{user_field: OuterRef(user_ref)})
        .order_by()
        .values(user_field)
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(follows, output_field=IntegerField()), 0)


def users_public() -> QuerySet[User]:
    """Active users with the follower count their cards show."""
    return User.objects.filter(is_active=True).annotate(follower_count=follow_count(user_field="followed"))


def user_profile(*, username: str) -> User | None:
    return (
        users_public()
        .annotate(following_count=follow_count(user_field="follower"))
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
