"""What browsers ask the site's root for: /favicon.ico and the web app manifest (installable site)."""

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ONE_DAY_S = 24 * 3600
# The site's dark theme (static/css/site.css): the splash screen and the window bar match the pages.
BACKGROUND = "#0e0e10"
THEME = "#18181b"


@require_safe
@cache_control(public=True, max_age=ONE_DAY_S)
def favicon(request: HttpRequest) -> FileResponse:
    # Served at the root itself: browsers, bookmarks and feed readers ask there whatever the pages say.
    path = finders.find("img/favicon.ico")
    if path is None:
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/x-icon")  # noqa: SIM115 (FileResponse closes it)


@require_safe
@cache_control(public=True, max_age=ONE_DAY_S)
def web_manifest(request: HttpRequest) -> JsonResponse:
    icons = [
        {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("img/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    manifest = {
        "name": "StreamLite",
        "short_name": "StreamLite",
        "description": _("Self-hosted live streaming"),
        "lang": get_language(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND,
        "theme_color": THEME,
        "icons": icons,
    }
    return JsonResponse(
        manifest, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
