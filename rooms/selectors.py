from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import User
from rooms.models import Category, Follow, Room, StreamKey, Tag


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


def stream_key_active(*, room: Room) -> StreamKey | None:
    return StreamKey.objects.filter(room=room, revoked_at__isnull=True).first()


def rooms_listed() -> QuerySet[Room]:
    """Every room with what a card shows, live ones first and the most watched first among them."""
    return Room.objects.select_related("owner", "category").order_by(
        "-status", "-viewer_count", "-created_at"
    )


def rooms_browsed(*, category: Category | None = None, tag: Tag | None = None) -> QuerySet[Room]:
    """Rooms as the home, category and tag pages list them: live ones by viewers, then those that have
    streamed, the most recently live first; rooms that never streamed come last, so real channels stay on
    page one."""
    rooms = rooms_listed()
    if category is not None:
        rooms = rooms.filter(category=category)
    if tag is not None:
        rooms = rooms.filter(category__tags=tag)
    live_viewers = Case(When(status=Room.Status.LIVE, then=F("viewer_count")), default=Value(0))
    return rooms.order_by(
        "-status", live_viewers.desc(), F("last_live_at").desc(nulls_last=True), "-created_at"
    )


def rooms_of_owner(*, owner: User) -> QuerySet[Room]:
    return rooms_listed().filter(owner=owner)


def categories_matching(*, query: str) -> QuerySet[Category]:
    """Categories whose name or one of whose tags contains ``query``: a search for "fps" finds the rooms
    and VODs of every category tagged fps."""
    return Category.objects.filter(Q(name__icontains=query) | Q(tags__name__icontains=query)).values("pk")


def rooms_search(*, query: str) -> QuerySet[Room]:
    return rooms_listed().filter(
        Q(title__icontains=query)
        | Q(description__icontains=query)
        | Q(category__in=categories_matching(query=query))
    )


def categories_listed() -> QuerySet[Category]:
    """Categories in menu order, each with its ``room_count`` and ``live_count``."""
    return Category.objects.only("name", "names", "slug", "position").annotate(
        room_count=Count("rooms"), live_count=Count("rooms", filter=Q(rooms__status=Room.Status.LIVE))
    )


def category_by_slug(*, slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def tag_by_slug(*, slug: str) -> Tag | None:
    return Tag.objects.filter(slug=slug).first()


def categories_of_tag(*, tag: Tag) -> QuerySet[Category]:
    return Category.objects.filter(tags=tag).only("name", "names", "slug", "position")


def room_detail(*, pk: int) -> Room | None:
    """The room with its owner's follower count, in one query."""
    return (
        rooms_listed()
        .annotate(owner_follower_count=follow_count(user_field="followed", user_ref="owner_id"))
        .filter(pk=pk)
        .first()
    )


def follow_of(*, follower: User | AnonymousUser, followed: User) -> Follow | None:
    """``follower``'s follow of ``followed`` (its bell state with it), or None."""
    if not follower.is_authenticated:
        return None
    return Follow.objects.filter(follower=follower, followed=followed).only("notify").first()


def rooms_filtered(
    *,
    status: str = "",
    category_slug: str = "",
    tag_slug: str = "",
    text: str = "",
    owner: User | None = None,
) -> QuerySet[Room]:
    """Rooms as API clients filter them."""
    rooms = rooms_listed()
    if status:
        rooms = rooms.filter(status=status)
    if category_slug:
        rooms = rooms.filter(category__slug=category_slug)
    if tag_slug:
        rooms = rooms.filter(category__tags__slug=tag_slug)
    if text:
        rooms = rooms.filter(
            Q(title__icontains=text)
            | Q(owner__username__icontains=text)
            | Q(owner__display_name__icontains=text)
        )
    if owner is not None:
        rooms = rooms.filter(owner=owner)
    return rooms


def room_listed(*, pk: int) -> Room | None:
    return rooms_listed().filter(pk=pk).first()
