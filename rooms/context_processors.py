from django.conf import settings
from django.utils.functional import SimpleLazyObject

from rooms import cache


def navigation(request):
    # Lazy: pages that never show the category menu do not even read the cached list.
    return {"hls_public_url": settings.HLS_PUBLIC_URL, "nav_categories": SimpleLazyObject(cache.categories)}
