"""Settings of the page benchmark's web server: the site's own, plus a trivial view to compare with.

Only bench/bench_pages.py serves these (DJANGO_SETTINGS_MODULE=bench.pages_settings)."""

from streamlite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.pages_urls"
# One load generator on loopback is one client address: the API's anonymous rate limit would answer
# almost every request with 429. The trivial view is not limited either, so the ratio stays fair.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
