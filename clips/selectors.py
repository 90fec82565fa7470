"""Clip reads: which clips a page lists, a clip's playlist with fetchable segment URLs, its danmaku."""

from django.db.models import QuerySet

from accounts.models import User
from clips.models import Clip
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from vod.selectors import stored_playlist

DANMAKU_WINDOW_LIMIT = 2000


def clips_ready() -> QuerySet[Clip]:
    return (
        Clip.objects.filter(status=Clip.Status.READY)
        .select_related("room", "room__owner", "created_by")
        .order_by("-created_at", "-pk")
    )


def clips_of_room(*, room_id: int | None) -> QuerySet[Clip]:
    clips = clips_ready()
    return clips if room_id is None else clips.filter(room_id=room_id)


def room_clips(*, room: Room) -> QuerySet[Clip]:
    return clips_ready().filter(room=room)


def user_clips(*, user: User) -> QuerySet[Clip]:
    """Clips of the streamer's rooms."""
    return clips_ready().filter(room__owner=user)


def clip_by_slug(*, slug: str) -> Clip | None:
    """Any clip by its slug (the slug is unguessable): its maker polls a processing one."""
    return (
        Clip.objects.select_related("room", "room__owner", "created_by", "stream", "vod")
        .filter(slug=slug)
        .first()
    )


def clip_playlist(*, clip: Clip) -> str:
    """The stored playlist with each segment line turned into a URL the browser can fetch."""
    return stored_playlist(clip.playlist_path)


def clip_thumbnail_url(clip: Clip) -> str | None:
    return clip.thumbnail.url if clip.thumbnail else None


def clip_danmaku(*, clip: Clip, from_ms: int, to_ms: int) -> tuple[list[dict], bool]:
    """The danmaku of the clip's window with from_ms <= vpos < to_ms on the clip's own time (0 = its start).

    Returns the documents (vpos_ms moved onto the clip's time) and whether the window held more than the limit.
    """
    length_ms = round((clip.duration_s or clip.requested_s) * 1000)
    to_ms = min(to_ms, length_ms)
    if clip.stream_id is None or from_ms >= to_ms:
        return [], False
    query = {
        "stream": clip.stream_id,
        "kind": "danmaku",
        "deleted": {"$ne": True},
        "vpos_ms": {"$gte": clip.start_ms + from_ms, "$lt": clip.start_ms + to_ms},
    }
    fields = {
        name: 1 for name in ("_id", "username", "display_name", "text", "mode", "color", "size", "lane")
    }
    documents = list(
        mongo_db()[MESSAGES]
        .find(query, {**fields, "vpos_ms": 1})
        .sort([("vpos_ms", 1), ("_id", 1)])
        .limit(DANMAKU_WINDOW_LIMIT + 1)
    )
    for document in documents:
        document["vpos_ms"] -= clip.start_ms
    return documents[:DANMAKU_WINDOW_LIMIT], len(documents) > DANMAKU_WINDOW_LIMIT
