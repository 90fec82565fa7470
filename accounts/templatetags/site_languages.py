from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def site_languages() -> list[tuple[str, str]]:
    """(code, name) of each site language, named in itself as settings spell it: neither translated into
    the page's language (get_available_languages does that) nor Django's own spelling of the name."""
    return list(settings.LANGUAGES)
