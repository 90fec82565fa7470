from django.db.models import Q, QuerySet

from accounts.models import User
from rooms.models import Room
from webhooks.models import Delivery, Endpoint


def endpoints_visible(*, user: User) -> QuerySet[Endpoint]:
    """The endpoints a user manages: their own, and the site-wide ones when staff."""
    scope = Q(owner=user)
    if user.is_staff:
        scope |= Q(site_wide=True)
    return Endpoint.objects.filter(scope)


def endpoint_visible(*, user: User, pk: int) -> Endpoint | None:
    return endpoints_visible(user=user).filter(pk=pk).first()


def endpoints_for_event(*, event: str, owner_id: int, room_id: int | None) -> list[Endpoint]:
    """The active endpoints an event reaches: the site's, the room's, and its owner's unscoped ones."""
    scope = Q(site_wide=True, owner__is_staff=True) | Q(owner_id=owner_id, site_wide=False, room__isnull=True)
    if room_id is None:
        # An event about the streamer rather than one room (a new follower) reaches all their endpoints.
        scope |= Q(owner_id=owner_id, site_wide=False)
    else:
        scope |= Q(room_id=room_id)
    # Few endpoints match a scope; the JSON list is checked here so SQLite needs no JSON containment.
    return [endpoint for endpoint in Endpoint.objects.filter(scope, active=True) if event in endpoint.events]


def deliveries_of(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint)


def rooms_with_event_endpoints(*, event: str, room_ids: set[int]) -> set[int]:
    """Which of these rooms some active endpoint wants the event of: two small queries, whatever the
    number of rooms (the chat archive's flush asks this for every batch)."""
    endpoints = [
        endpoint
        for endpoint in Endpoint.objects.filter(active=True).select_related("owner")
        if event in endpoint.events
    ]
    if any(endpoint.site_wide and endpoint.owner.is_staff for endpoint in endpoints):
        return set(room_ids)
    wanted = {endpoint.room_id for endpoint in endpoints if endpoint.room_id in room_ids}
    owners = {
        endpoint.owner_id for endpoint in endpoints if endpoint.room_id is None and not endpoint.site_wide
    }
    if owners:
        wanted.update(Room.objects.filter(pk__in=room_ids, owner_id__in=owners).values_list("pk", flat=True))
    return wanted
