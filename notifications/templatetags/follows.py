from django import template

from rooms import selectors
from rooms.models import Follow

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_of(context, streamer) -> Follow | None:
    """The signed-in user's follow of ``streamer`` (for its bell state), or None."""
    return selectors.follow_of(follower=context["request"].user, followed=streamer)
