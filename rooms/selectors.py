from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When

from accounts.models import User
from accounts.selectors import follow_count
from rooms.models import Category, Follow, Room, StreamKey
from streams.models import RoomRecord, Stream
from vod.models import Vod


def stream_key_active(*, room: Room) -> StreamKey | None:
    return StreamKey.objects.filter(room=room, revoked_at__isnull=True).first()


def rooms_listed() -> QuerySet[Room]:
    """Every room with what a card shows, live ones first and the most watched first among them."""
    return Room.objects.select_related("owner", "category").order_by(
        "-status", "-viewer_count", "-created_at"
    )


def rooms_browsed(*, category: Category | None = None) -> QuerySet[Room]:
    """Rooms as the home and category pages list them: live ones by viewers, then those that have streamed,
    the most recently live first; rooms that never streamed come last, so real channels stay on page one."""
    last_stream = Stream.objects.filter(room=OuterRef("pk")).order_by("-started_at").values("started_at")[:1]
    rooms = rooms_listed().annotate(last_streamed_at=Subquery(last_stream))
    if category is not None:
        rooms = rooms.filter(category=category)
    live_viewers = Case(When(status=Room.Status.LIVE, then=F("viewer_count")), default=Value(0))
    return rooms.order_by(
        "-status", live_viewers.desc(), F("last_streamed_at").desc(nulls_last=True), "-created_at"
    )


def rooms_of_owner(*, owner: User) -> QuerySet[Room]:
    return rooms_listed().filter(owner=owner)


def rooms_search(*, query: str) -> QuerySet[Room]:
    return rooms_listed().filter(Q(title__icontains=query) | Q(description__icontains=query))


def categories_listed() -> QuerySet[Category]:
    """Categories in menu order, each with its ``room_count`` and ``live_count``."""
    return Category.objects.only("name", "names", "slug", "position").annotate(
        room_count=Count("rooms"), live_count=Count("rooms", filter=Q(rooms__status=Room.Status.LIVE))
    )


def category_by_slug(*, slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def room_detail(*, pk: int) -> Room | None:
    """The room with its owner's follower count and its live stream's start, in one query."""
    return (
        _with_live_started_at(rooms_listed())
        .annotate(owner_follower_count=follow_count(user_field="followed", user_ref="owner_id"))
        .filter(pk=pk)
        .first()
    )


def follow_of(*, follower: User | AnonymousUser, followed: User) -> Follow | None:
    """``follower``'s follow of ``followed`` (its bell state with it), or None."""
    if not follower.is_authenticated:
        return None
    return Follow.objects.filter(follower=follower, followed=followed).only("notify").first()


def room_vods_ready(*, room: Room) -> QuerySet[Vod]:
    return Vod.objects.filter(room=room, status=Vod.Status.READY).order_by("-created_at")


def _with_live_started_at(rooms: QuerySet[Room]) -> QuerySet[Room]:
    # One subquery in the rooms query, so a page of rooms costs the same queries whatever its size.
    live_stream = Stream.objects.filter(room=OuterRef("pk"), status=Stream.Status.LIVE)
    return rooms.annotate(live_started_at=Subquery(live_stream.values("started_at")[:1]))


def rooms_filtered(
    *, status: str = "", category_slug: str = "", text: str = "", owner: User | None = None
) -> QuerySet[Room]:
    """Rooms as API clients filter them, each with ``live_started_at`` (None unless live)."""
    rooms = rooms_listed()
    if status:
        rooms = rooms.filter(status=status)
    if category_slug:
        rooms = rooms.filter(category__slug=category_slug)
    if text:
        rooms = rooms.filter(
            Q(title__icontains=text)
            | Q(owner__username__icontains=text)
            | Q(owner__display_name__icontains=text)
        )
    if owner is not None:
        rooms = rooms.filter(owner=owner)
    return _with_live_started_at(rooms)


def room_with_live_start(*, pk: int) -> Room | None:
    return _with_live_started_at(rooms_listed()).filter(pk=pk).first()


def room_records_ended(*, room: Room) -> QuerySet[RoomRecord]:
    """The stats of the room's finished streams, newest first; the open one is still changing."""
    return RoomRecord.objects.filter(room=room, ended_at__isnull=False).order_by("-started_at", "-pk")
