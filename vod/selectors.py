"""VOD reads: who sees which VOD, its playlists (the master of its quality ladder, and each rung's with
playable segment URLs), its danmaku from the archive."""

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet

from accounts.models import User
from rooms.models import Room, Tag
from rooms.selectors import categories_matching
from streamlite.mongo import MESSAGES, mongo_db
from vod.models import Vod, VodRendition

DANMAKU_WINDOW_LIMIT = 2000
# The raw playlist of a published prefix never changes: keep it rather than read the store per viewer.
PLAYLIST_CACHE_S = 24 * 60 * 60
DENSITY_CACHE_S = 60


def _is_owner_or_staff(vod: Vod, user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_staff or vod.room.owner_id == user.pk)


def vods_visible(*, user: User | AnonymousUser) -> QuerySet[Vod]:
    """Ready VODs for everyone; the owner (and staff) also see their processing, failed and hidden ones."""
    vods = Vod.objects.select_related("room", "room__owner", "stream", "category").order_by(
        "-created_at", "-pk"
    )
    if not user.is_authenticated:
        return vods.filter(status=Vod.Status.READY)
    if user.is_staff:
        return vods
    return vods.filter(Q(status=Vod.Status.READY) | Q(room__owner=user))


def vods_of_room(*, room_id: int | None, user: User | AnonymousUser) -> QuerySet[Vod]:
    vods = vods_visible(user=user)
    return vods if room_id is None else vods.filter(room_id=room_id)


def _text_match(query: str) -> Q:
    return (
        Q(title__icontains=query)
        | Q(description__icontains=query)
        | Q(room__title__icontains=query)
        | Q(room__owner__username__icontains=query)
        | Q(room__owner__display_name__icontains=query)
        | Q(category__in=categories_matching(query=query))
    )


def vods_filtered(
    *,
    user: User | AnonymousUser,
    room_id: int | None = None,
    text: str = "",
    category_slug: str = "",
    tag_slug: str = "",
) -> QuerySet[Vod]:
    """VODs as API clients filter them: by room, by words of their title, description, room, streamer,
    category or tags, by category and by tag."""
    vods = vods_of_room(room_id=room_id, user=user)
    if text:
        vods = vods.filter(_text_match(text))
    if category_slug:
        vods = vods.filter(category__slug=category_slug)
    if tag_slug:
        vods = vods.filter(category__tags__slug=tag_slug)
    return vods


def vods_search(*, query: str) -> QuerySet[Vod]:
    """Ready VODs the search page lists for ``query``, newest first."""
    return vods_ready().filter(_text_match(query))


def vods_of_tag(*, tag: Tag) -> QuerySet[Vod]:
    return vods_ready().filter(category__tags=tag)


def vods_ready() -> QuerySet[Vod]:
    """Ready VODs with what a card shows, newest first."""
    return (
        Vod.objects.filter(status=Vod.Status.READY)
        .select_related("room", "room__owner", "category")
        .order_by("-created_at", "-pk")
    )


def vod_visible(*, pk: int, user: User | AnonymousUser) -> Vod | None:
    return vods_visible(user=user).filter(pk=pk).first()


def vod_tags(*, vod: Vod) -> QuerySet[Tag]:
    """The tags of the VOD's category, shown as links on its page."""
    if vod.category_id is None:
        return Tag.objects.none()
    return Tag.objects.filter(categories=vod.category_id)


def vod_may_change(*, vod: Vod, user: User | AnonymousUser) -> bool:
    """Renaming, hiding, deleting and retrying are the room owner's."""
    return user.is_authenticated and vod.room.owner_id == user.pk


def vod_playable(*, vod: Vod, user: User | AnonymousUser) -> bool:
    if not vod.playlist_path:
        return False
    return vod.status == Vod.Status.READY or (
        vod.status == Vod.Status.HIDDEN and _is_owner_or_staff(vod, user)
    )


SOURCE_RUNG = "source"


def vod_renditions_ready(*, vod: Vod) -> list[VodRendition]:
    return list(vod.renditions.filter(status=VodRendition.Status.READY).exclude(playlist_path=""))


def vod_master_playlist(*, vod: Vod, rung_url: Callable[[str], str]) -> str:
    """The VOD's master playlist: its source rung and each lower rung made so far, highest first; the
    player picks among them by bandwidth. ``rung_url`` gives a rung's media playlist URL from its name."""
    source_bandwidth = vod.bandwidth or round(vod.size_bytes * 8 / max(1, vod.duration_s or 1))
    variants = [(SOURCE_RUNG, vod.width, vod.height, source_bandwidth)]
    variants += [(r.name, r.width, r.height, r.bandwidth) for r in vod_renditions_ready(vod=vod)]
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for name, width, height, bandwidth in variants:
        attributes = [f"BANDWIDTH={max(1, bandwidth)}"]
        if width and height:
            attributes.append(f"RESOLUTION={width}x{height}")
        attributes.append(f'NAME="{f"{height}p" if height else name}"')
        lines += [f"#EXT-X-STREAM-INF:{','.join(attributes)}", rung_url(name)]
    return "\n".join(lines) + "\n"


def vod_rung_playlist(*, vod: Vod, name: str) -> str | None:
    """A rung's stored media playlist with each segment line turned into a URL the browser can fetch;
    None when the VOD has no such rung (yet).

    With a private S3 bucket ``storage.url`` is a presigned URL (AWS_QUERYSTRING_AUTH), so this text
    expires with them: it is served with a short max-age. Local storage gives plain MEDIA_URL paths.
    """
    if name == SOURCE_RUNG:
        return stored_playlist(vod.playlist_path)
    rendition = (
        vod.renditions.filter(name=name, status=VodRendition.Status.READY).exclude(playlist_path="").first()
    )
    return stored_playlist(rendition.playlist_path) if rendition else None


def stored_playlist(path: str) -> str:
    """A playlist in storage (a VOD's or a clip's) with its segment names as URLs; the stored text is
    cached, the URLs are made fresh each time."""
    key = f"vod:playlist:{path}"
    raw = cache.get(key)
    if raw is None:
        with default_storage.open(path, "rb") as playlist:
            raw = playlist.read().decode()
        cache.set(key, raw, timeout=PLAYLIST_CACHE_S)
    prefix = path.rsplit("/", 1)[0] + "/"
    lines = []
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "/" not in stripped:
            line = default_storage.url(prefix + stripped)
        lines.append(line)
    return "\n".join(lines) + "\n"


def vod_thumbnail_url(vod: Vod) -> str | None:
    return vod.thumbnail.url if vod.thumbnail else None


def _replay_filter(vod: Vod, kind: str) -> dict:
    return {"stream": vod.stream_id, "kind": kind, "deleted": {"$ne": True}}


REPLAY_FIELDS = {
    "danmaku": ("username", "display_name", "text", "mode", "color", "size", "lane", "vpos_ms"),
    "chat": ("username", "display_name", "text", "vpos_ms"),
}


def _replay_window(*, vod: Vod, kind: str, from_ms: int, to_ms: int) -> tuple[list[dict], bool]:
    """The VOD's archived messages of ``kind`` with from_ms <= vpos_ms < to_ms, by vpos; at most
    DANMAKU_WINDOW_LIMIT. Returns the documents and whether the window held more than the limit."""
    if vod.stream_id is None:
        return [], False
    query = {**_replay_filter(vod, kind), "vpos_ms": {"$gte": from_ms, "$lt": to_ms}}
    documents = list(
        mongo_db()[MESSAGES]
        .find(query, {"_id": 1, **dict.fromkeys(REPLAY_FIELDS[kind], 1)})
        .sort([("vpos_ms", 1), ("_id", 1)])
        .limit(DANMAKU_WINDOW_LIMIT + 1)
    )
    return documents[:DANMAKU_WINDOW_LIMIT], len(documents) > DANMAKU_WINDOW_LIMIT


def vod_danmaku(*, vod: Vod, from_ms: int, to_ms: int) -> tuple[list[dict], bool]:
    """The danmaku replayed over the video in this window of the stream."""
    return _replay_window(vod=vod, kind="danmaku", from_ms=from_ms, to_ms=to_ms)


def vod_chat(*, vod: Vod, from_ms: int, to_ms: int) -> tuple[list[dict], bool]:
    """The chat messages replayed beside the video in this window of the stream."""
    return _replay_window(vod=vod, kind="chat", from_ms=from_ms, to_ms=to_ms)


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
        {**_replay_filter(vod, "danmaku"), "vpos_ms": {"$gte": 0, "$lt": duration_ms}},
        {"_id": 0, "vpos_ms": 1},
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
