import hmac
import re

from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import User
from rooms.models import Room, StreamKey, stream_secret_digest
from streams.models import LadderState, PublishRefusal, RoomRecord, Stream

# Keys we issue are "sk_" + 43 url-safe characters; anything outside this shape is refused before any query.
STREAM_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Wrong keys one address may try within the window before it is refused outright.
BAD_KEY_LIMIT = 10
BAD_KEY_WINDOW_S = 600


def publish_refusal_cache_key(room_id: int) -> str:
    return f"publish_refused:{room_id}"


def bad_key_cache_key(addr: str) -> str:
    return f"publish_bad_keys:{addr}"


def stream_key_by_secret(
    *, secret: str, include_revoked: bool = False, lock_owner: bool = False
) -> StreamKey | None:
    """The key OBS published with, looked up by digest and confirmed in constant time.

    ``lock_owner`` (inside a transaction) locks the room owner's row in the same statement. FOR NO KEY
    UPDATE, not FOR UPDATE: it still serialises that owner's publishes, but never blocks the rows that
    merely reference the user (follows, messages, notifications) from being written meanwhile."""
    if not STREAM_KEY_SHAPE.fullmatch(secret):
        return None
    keys = StreamKey.objects.select_related("room__owner").filter(secret_digest=stream_secret_digest(secret))
    if not include_revoked:
        keys = keys.filter(revoked_at__isnull=True)
    if lock_owner:
        keys = keys.select_for_update(of=("room__owner",), no_key=True)
    # The digest is unique: no ORDER BY as first() would add.
    key = next(iter(keys[:1]), None)
    if key is None or not hmac.compare_digest(key.secret.encode(), secret.encode()):
        return None
    return key


def stream_live_of_client(*, room_id: int, client_id: str) -> Stream | None:
    """The room's open stream if the ingest client ``client_id`` publishes it."""
    return Stream.objects.filter(room_id=room_id, client_id=client_id, status=Stream.Status.LIVE).first()


def stream_latest_of_public_name(*, public_name: str) -> Stream | None:
    return Stream.objects.filter(room__public_name=public_name).order_by("-started_at").first()


def publish_address_blocked(*, addr: str) -> bool:
    return (cache.get(bad_key_cache_key(addr)) or 0) >= BAD_KEY_LIMIT


def publish_refusal_reason(*, room: Room) -> str | None:
    """Why the room's last publish attempt was refused, for its dashboard (kept ten minutes)."""
    code = cache.get(publish_refusal_cache_key(room.pk))
    if code not in PublishRefusal.values:
        return None
    return str(PublishRefusal(code).label)


def room_records_ended(*, room: Room) -> QuerySet[RoomRecord]:
    """The stats of the room's finished streams, newest first; the open one is still changing."""
    return RoomRecord.objects.filter(room=room, ended_at__isnull=False).order_by("-started_at", "-pk")


def user_streams_past(*, user: User) -> QuerySet[Stream]:
    return (
        Stream.objects.filter(room__owner=user, status=Stream.Status.ENDED)
        .select_related("room")
        .order_by("-started_at")
    )


# A stream in these states may still get its ladder: a slot may free up, the room or the plan may allow it.
LADDER_WAITING_STATES = (
    LadderState.PENDING, LadderState.LIMIT, LadderState.ROOM_OFF, LadderState.PLAN_OFF, LadderState.SITE_OFF,
)  # fmt: skip


def streams_ladder_unclaimed() -> QuerySet[Stream]:
    """Live streams no worker transcodes that may get their ladder, oldest first (first come, first served)."""
    return (
        Stream.objects.filter(
            status=Stream.Status.LIVE, ladder_node="", ladder_state__in=LADDER_WAITING_STATES
        )
        .select_related("room")
        .order_by("started_at")
    )
