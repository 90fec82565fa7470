from django.db.models import QuerySet

from rooms.models import Room, StreamKey


def stream_key_active(*, room: Room) -> StreamKey | None:
    return StreamKey.objects.filter(room=room, revoked_at__isnull=True).first()


def rooms_listed() -> QuerySet[Room]:
    """Every room with what a card shows, live ones first and the most watched first among them."""
    return Room.objects.select_related("owner", "category").order_by(
        "-status", "-viewer_count", "-created_at"
    )
