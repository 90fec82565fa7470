from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.utils import translation
from django.views.decorators.cache import cache_page
from django.views.decorators.http import last_modified
from django.views.i18n import JavaScriptCatalog

from accounts.views import language_set
from notifications.views import following
from pages import urls as pages_urls
from rooms import urls as rooms_urls
from streamlite.health import healthz
from streamlite.media import media_serve
from streamlite.metrics_view import metrics_view
from streamlite.site_files import favicon, web_manifest
from vod.views import vod_media

# The JavaScript catalogue changes only when compilemessages runs: its newest .mo file dates it, so the
# cache (keyed per language by cache_page itself) starts afresh after a deploy and browsers revalidate.
CATALOGUE_COMPILED_AT = max(
    (
        datetime.fromtimestamp(mo.stat().st_mtime, tz=UTC)
        for mo in Path(settings.BASE_DIR, "locale").glob("*/*/*.mo")
    ),
    default=datetime(2000, 1, 1, tzinfo=UTC),
)
javascript_catalog = cache_page(60 * 60 * 24, key_prefix=f"jsi18n-{CATALOGUE_COMPILED_AT.timestamp():.0f}")(
    last_modified(lambda request: CATALOGUE_COMPILED_AT)(JavaScriptCatalog.as_view())
)
SITE_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def javascript_catalog_of(request, language: str):
    """The catalogue at an address of its own per language: a browser that cached one language's
    catalogue for a day asks for the new one as soon as the reader switches."""
    if language not in SITE_LANGUAGES:
        raise Http404
    with translation.override(language):
        return javascript_catalog(request)


# The resolver tries patterns in order: the pages anonymous visitors ask for most come first (docs/benchmarks.md,
# pages: `/` was found after ~25 µs of failed patterns), and the API before the pages' ten patterns, which
# cost it more than its own prefix costs them. The two apps' patterns are taken in as they are rather than
# included: an include that does not match raises and records what it tried, on every request past it.
# None of these routes overlaps a later one.
urlpatterns = [
    *rooms_urls.urlpatterns,
    path("api/", include("streamlite.api_urls")),
    *pages_urls.urlpatterns,
    path("admin/", admin.site.urls),
    path("hooks/rtmp/", include("streams.hook_urls")),
    path("dashboard/webhooks/", include("webhooks.urls")),
    path("", include("schedule.urls")),
    path("dashboard/restream/", include("relay.urls")),
    path("dashboard/", include("streams.dashboard_urls")),
    path("accounts/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("following/", following, name="following"),
    path("vods/", include("vod.urls")),
    path("clips/", include("clips.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("manifest.webmanifest", web_manifest, name="web_manifest"),
    path("metrics", metrics_view, name="metrics"),
    path("i18n/setlang/", language_set, name="set_language"),
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
    path("jsi18n/<str:language>/", javascript_catalog_of, name="javascript-catalog-of"),
]

if not settings.AWS_STORAGE_BUCKET_NAME:
    media_prefix = settings.MEDIA_URL.strip("/")
    urlpatterns += [
        path(f"{media_prefix}/vods/<int:pk>/<path:path>", vod_media, name="vod_media"),
        re_path(rf"^{media_prefix}/(?P<path>.+)$", media_serve, name="media"),
    ]
