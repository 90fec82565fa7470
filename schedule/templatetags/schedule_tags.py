"""The schedule in other apps' pages: ``{% upcoming_streams %}`` loads the entries itself, so the home page
(rooms) and the profile and room pages show it without their views importing this app."""

from django import template

from schedule.selectors import schedule_upcoming

register = template.Library()

HOME_ROW_SIZE = 6
LIST_SIZE = 10


@register.inclusion_tag("schedule/_upcoming.html", takes_context=True)
def upcoming_streams(context, *, room=None, owner=None, heading_id="schedule-heading"):
    """The upcoming row: the whole site's (home), one streamer's (profile) or one room's."""
    request = context.get("request")
    user = getattr(request, "user", None)
    size = HOME_ROW_SIZE if room is None and owner is None else LIST_SIZE
    entries = list(schedule_upcoming(room=room, owner=owner, user=user)[:size])
    return {
        "entries": entries,
        "owner": owner,
        "site_wide": room is None and owner is None,
        "user": user,
        "next": request.get_full_path() if request else "/",
        "csrf_token": context.get("csrf_token"),
        "heading_id": heading_id,
    }
