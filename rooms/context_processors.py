from django.conf import settings

from rooms.selectors import categories_listed


def navigation(request):
    # A lazy queryset: pages that never show the category menu run no query for it.
    return {"hls_public_url": settings.HLS_PUBLIC_URL, "nav_categories": categories_listed()}
