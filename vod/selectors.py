"""VOD reads: who sees which VOD, its playlist with playable segment URLs, its danmaku from the archive."""

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet

from accounts.models import User
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from vod.models import Vod

DANMAKU_WINDOW_LIMIT = 2000
# The raw playlist of a published prefix never changes: keep it rather than read the store per viewer.
PLAYLIST_CACHE_S = 24 * 60 * 60
DENSITY_CACHE_S = 60


def _is_owner_or_staff(vod: Vod, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_staff or vod.room.owner_id == user.pk)


def vods_visible(*, user: User | AnonymousUser) -> QuerySet[Vod]:
    """Ready VODs for everyone; the owner (and staff) also see their processing, failed and hidden ones."""
    vods = Vod.objects.select_related("room", "room__owner", "stream").order_by("-created_at", "-pk")
    if not user.is_authenticated:
        return vods.filter(status=Vod.Status.READY)
    if user.is_staff:
        return vods
    return vods.filter(Q(status=Vod.Status.READY) | Q(room__owner=user))


def vods_of_room(*, room_id: int | None, user: User | AnonymousUser) -> QuerySet[Vod]:
    vods = vods_visible(user=user)
    return vods if room_id is None else vods.filter(room_id=room_id)


def vod_visible(*, pk: int, user: User | AnonymousUser) -> Vod | None:
    return vods_visible(user=user).filter(pk=pk).first()


def vod_may_change(*, vod: Vod, user: User | AnonymousUser) -> bool:
    """Renaming, hiding, deleting and retrying are the room owner's."""
    return user.is_authenticated and vod.room.owner_id == user.pk


def vod_playable(*, vod: Vod, user: User | AnonymousUser) -> bool:
    if not vod.playlist_path:
        return False
    return vod.status == Vod.Status.READY or (
        vod.status == Vod.Status.HIDDEN and _is_owner_or_staff(vod, user)
    )


def vod_playlist(*, vod: Vod) -> str:
    """The stored playlist with each segment line turned into a URL the browser can fetch.

    With a private S3 bucket ``storage.url`` is a presigned URL (AWS_QUERYSTRING_AUTH), so this text
    expires with them: it is served with a short max-age. Local storage gives plain MEDIA_URL paths.
    """
    key = f"vod:playlist:{vod.playlist_path}"
    raw = cache.get(key)
    if raw is None:
        with default_storage.open(vod.playlist_path, "rb") as playlist:
            raw = playlist.read().decode()
        cache.set(key, raw, timeout=PLAYLIST_CACHE_S)
    prefix = vod.playlist_path.rsplit("/", 1)[0] + "/"
    lines = []
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "/" not in stripped:
            line = default_storage.url(prefix + stripped)
        lines.append(line)
    return "\n".join(lines) + "\n"


def vod_thumbnail_url(vod: Vod) -> str | None:
    return vod.thumbnail.url if vod.thumbnail else None


def _danmaku_filter(vod: Vod) -> dict:
    return {"stream": vod.stream_id, "kind": "danmaku", "deleted": {"$ne": True}}


def vod_danmaku(*, vod: Vod, from_ms: int, to_ms: int) -> tuple[list[dict], bool]:
    """The VOD's danmaku with from_ms <= vpos_ms < to_ms, by vpos; at most DANMAKU_WINDOW_LIMIT.

    Returns the documents and whether the window held more than the limit.
    """
    if vod.stream_id is None:
        return [], False
    query = {**_danmaku_filter(vod), "vpos_ms": {"$gte": from_ms, "$lt": to_ms}}
    documents = list(
        mongo_db()[MESSAGES]
        .find(
            query,
            {
                "_id": 1,
                "username": 1,
                "display_name": 1,
                "text": 1,
                "mode": 1,
                "color": 1,
                "size": 1,
                "lane": 1,
                "vpos_ms": 1,
            },
        )
        .sort([("vpos_ms", 1), ("_id", 1)])
        .limit(DANMAKU_WINDOW_LIMIT + 1)
    )
    return documents[:DANMAKU_WINDOW_LIMIT], len(documents) > DANMAKU_WINDOW_LIMIT


def vod_danmaku_density(*, vod: Vod, buckets: int) -> dict:
    """How many danmaku fall into each of ``buckets`` equal slices of the VOD: the seek bar's heatmap."""
    duration_ms = (vod.duration_s or 0) * 1000
    counts = [0] * buckets
    if vod.stream_id is None or duration_ms <= 0:
        return {"duration_ms": duration_ms, "bucket_ms": 0, "counts": counts}
    key = f"vod:{vod.pk}:density:{buckets}:{duration_ms}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    bucket_ms = max(1, -(-duration_ms // buckets))
    cursor = mongo_db()[MESSAGES].find(
        {**_danmaku_filter(vod), "vpos_ms": {"$gte": 0, "$lt": duration_ms}}, {"_id": 0, "vpos_ms": 1}
    )
    for document in cursor:
        counts[min(buckets - 1, int(document["vpos_ms"]) // bucket_ms)] += 1
    result = {"duration_ms": duration_ms, "bucket_ms": bucket_ms, "counts": counts}
    cache.set(key, result, timeout=DENSITY_CACHE_S)
    return result


def user_vods_ready(*, user: User) -> QuerySet[Vod]:
    return (
        Vod.objects.filter(room__owner=user, status=Vod.Status.READY)
        .select_related("room")
        .order_by("-created_at")
    )


def room_vods_ready(*, room: Room) -> QuerySet[Vod]:
    return Vod.objects.filter(room=room, status=Vod.Status.READY).order_by("-created_at")
