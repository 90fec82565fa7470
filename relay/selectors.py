from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.plans import user_plan
from relay.models import Destination, Playout
from rooms.models import Room


def destinations_of_room(*, room: Room) -> QuerySet[Destination]:
    return Destination.objects.filter(room=room)


def destination_of_owner(*, user: User, pk: int) -> Destination | None:
    if not user.is_authenticated:
        return None
    return Destination.objects.filter(pk=pk, room__owner=user).select_related("room").first()


def orphan_before():
    return timezone.now() - timedelta(seconds=settings.RELAY_ORPHAN_S)


def destinations_wanted() -> list[Destination]:
    """The destinations that should be relaying now: enabled, of a live room, and within the owner's plan
    (the first ones added, when the plan that allowed more expired or was changed)."""
    candidates = (
        Destination.objects.filter(enabled=True, room__status=Room.Status.LIVE)
        .select_related("room__owner__plan")
        .order_by("room_id", "created_at", "pk")
    )
    limits: dict[int, int] = {}
    relayed: Counter[int] = Counter()
    wanted = []
    for destination in candidates:
        owner = destination.room.owner
        if owner.pk not in limits:
            limits[owner.pk] = user_plan(user=owner).destinations_per_room
        if relayed[destination.room_id] < limits[owner.pk]:
            relayed[destination.room_id] += 1
            wanted.append(destination)
    return wanted


def destinations_to_start(*, node: str, wanted: list[Destination]) -> QuerySet[Destination]:
    """Of the wanted destinations, those no live worker relays and whose retry time has come."""
    return Destination.objects.filter(pk__in=[destination.pk for destination in wanted]).filter(
        Q(node="") | Q(node=node) | Q(heartbeat_at__lt=orphan_before()) | Q(heartbeat_at__isnull=True),
        Q(retry_at__isnull=True) | Q(retry_at__lte=timezone.now()),
    )


def playouts_due() -> QuerySet[Playout]:
    return Playout.objects.filter(state=Playout.State.SCHEDULED, starts_at__lte=timezone.now())


def playouts_beyond_hours(*, pks: list[int]) -> set[int]:
    """Of these running playouts, those whose owner used up the plan's playout hours of the month (a
    looped playout runs until cancelled, so the limit also ends it)."""
    running = Playout.objects.filter(
        pk__in=pks, state__in=[Playout.State.STARTING, Playout.State.LIVE]
    ).select_related("room__owner__plan")
    beyond, used_up = set(), {}
    for playout in running:
        owner = playout.room.owner
        if owner.pk not in used_up:
            allowed_s = user_plan(user=owner).playout_hours_per_month * 3600
            used_up[owner.pk] = playout_seconds_this_month(user=owner) >= allowed_s
        if used_up[owner.pk]:
            beyond.add(playout.pk)
    return beyond


def playouts_of_room(*, room: Room) -> QuerySet[Playout]:
    return Playout.objects.filter(room=room).select_related("vod")


def playout_of_owner(*, user: User, pk: int) -> Playout | None:
    if not user.is_authenticated:
        return None
    return Playout.objects.filter(pk=pk, room__owner=user).select_related("room").first()


def playout_seconds_this_month(*, user: User) -> int:
    """Seconds the user's playouts were on air since the first of this month (running ones until now)."""
    now = timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    played = Playout.objects.filter(room__owner=user, started_at__gte=month_start).values_list(
        "started_at", "ended_at"
    )
    return int(sum(((ended or now) - started).total_seconds() for started, ended in played))
