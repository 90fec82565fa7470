import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.activity import activity_record
from accounts.models import ActivityLog
from rooms.models import Room
from streams.models import RoomRecord, Stream

logger = logging.getLogger(__name__)

# Pages that cache room lists (home, categories) store them under this key; any change of a room's
# live state drops it so the next request rebuilds the list.
ROOM_LISTS_CACHE_KEY = "room_lists"


def room_group_name(room_id: int) -> str:
    return f"room_{room_id}"


def room_lists_changed() -> None:
    cache.delete(ROOM_LISTS_CACHE_KEY)


def room_state_broadcast(*, room_id: int, status: str) -> None:
    """Tell open room pages the room went live or idle (at-most-once, like all channel-layer sends)."""
    async_to_sync(get_channel_layer().group_send)(
        room_group_name(room_id), {"type": "room.state", "status": status}
    )


def _on_room_state_change(*, room_id: int, status: str) -> None:
    # robust: the rows are committed already, a Redis hiccup must not turn the hook into a 500.
    transaction.on_commit(lambda: room_state_broadcast(room_id=room_id, status=status), robust=True)
    transaction.on_commit(room_lists_changed, robust=True)


@transaction.atomic
def stream_end(*, stream: Stream, reason: str) -> None:
    """End a live stream, close its record and set the room idle; ending an ended stream does nothing."""
    locked = Stream.objects.select_for_update(of=("self",)).select_related("room__owner").get(pk=stream.pk)
    if locked.status != Stream.Status.LIVE:
        return
    # The clock may have been set back since the start; the row must still end after it starts.
    ended_at = max(timezone.now(), locked.started_at)
    locked.status = Stream.Status.ENDED
    locked.ended_at = ended_at
    locked.end_reason = reason[: Stream._meta.get_field("end_reason").max_length]
    locked.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    RoomRecord.objects.filter(stream=locked, ended_at__isnull=True).update(ended_at=ended_at)
    # One live stream per room (a database constraint), so ending it leaves the room idle.
    Room.objects.filter(pk=locked.room_id).update(status=Room.Status.IDLE, viewer_count=0)
    activity_record(
        action=ActivityLog.Action.STREAM_END,
        user=locked.room.owner,
        room_id=locked.room_id,
        stream_id=locked.pk,
        reason=locked.end_reason,
    )
    stream.status, stream.ended_at, stream.end_reason = locked.status, locked.ended_at, locked.end_reason
    _on_room_state_change(room_id=locked.room_id, status=Room.Status.IDLE)
