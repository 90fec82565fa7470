from django import template

from rooms.models import Follow

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_of(context, streamer) -> Follow | None:
    """The signed-in user's follow of ``streamer`` (for its bell state), or None."""
    user = context["request"].user
    if not user.is_authenticated:
        return None
    return Follow.objects.filter(follower=user, followed=streamer).only("notify").first()
