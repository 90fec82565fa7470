"""The site's URLs plus /bench/trivial/, the baseline of bench/bench_pages.py (never in production URLs)."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    # Through the same middleware as every page (sessions, locale, CSRF, auth, messages), no query.
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("", include("streamlite.urls")),
]
