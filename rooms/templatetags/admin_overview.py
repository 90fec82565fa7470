from django import template

from rooms.models import Room
from rooms.selectors import rooms_listed

register = template.Library()

ADMIN_LIVE_ROOMS = 10


@register.simple_tag
def live_rooms_overview() -> dict:
    """The admin index's "live now": the most watched live rooms and how many are live in all."""
    live = rooms_listed().filter(status=Room.Status.LIVE)
    return {"rooms": list(live[:ADMIN_LIVE_ROOMS]), "count": live.count()}
