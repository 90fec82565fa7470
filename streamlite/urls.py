from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from notifications.views import following
from streamlite.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("streamlite.api_urls")),
    path("hooks/rtmp/", include("streams.hook_urls")),
    path("dashboard/", include("streams.dashboard_urls")),
    path("accounts/", include("accounts.urls")),
    path("notifications/", include("notifications.urls")),
    path("following/", following, name="following"),
    path("vods/", include("vod.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("rooms.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
