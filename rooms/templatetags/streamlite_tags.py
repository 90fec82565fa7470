from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | int | None) -> str:
    """A length of time as H:MM:SS (or M:SS under an hour), the way video players show it."""
    if value is None or value == "":
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


@register.simple_tag(takes_context=True)
def page_url(context, param: str, number: int) -> str:
    """The current URL's query string with one page number changed, so other filters (?q=) stay."""
    query = context["request"].GET.copy()
    query[param] = number
    return "?" + query.urlencode()
