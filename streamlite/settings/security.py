"""Log-in lockouts, sign-up limits, client JSON limits and the cookies of a deployment."""

from datetime import timedelta
from urllib.parse import urlsplit

from streamlite.settings.base import DEBUG, env
from streamlite.settings.ingest import HLS_PUBLIC_URL
from streamlite.settings.storage import (
    AWS_S3_CUSTOM_DOMAIN,
    AWS_S3_ENDPOINT_URL,
    AWS_S3_URL_PROTOCOL,
    AWS_STORAGE_BUCKET_NAME,
)

# django-axes first: every log-in through authenticate() (pages, admin, the token API) counts failures and
# is refused while locked, by user name and, separately, by address (a guessed password list against one
# account from many addresses, or many accounts from one address). The lockout is in the activity log.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The address the request came from, after the trusted-proxy rewrite (streamlite.proxy), never a header.
AXES_CLIENT_IP_CALLABLE = "accounts.activity.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
# Sign-ups (page and API) per address per hour, counted in the cache (Redis) shared by every process.
SIGNUP_RATE_PER_HOUR = env.int("SIGNUP_RATE_PER_HOUR", default=10)
# Reverse proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed
# (streamlite.proxy); nobody's by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# Client JSON (API bodies, websocket frames; streamlite.json_input): deeper nesting or a bigger API body is
# a 400 / an `invalid` event. No request of the site nests more than a few levels.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=1024 * 1024)

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

# Webhook receivers on loopback, private or link-local addresses (a bot on the same network, tests):
# off by default, so a URL a user gives cannot reach the server's own or internal services.
OUTBOUND_ALLOW_PRIVATE = env.bool("OUTBOUND_ALLOW_PRIVATE", default=False)

# HTTPS deployments (README, "HTTPS"): cookies only over TLS, HSTS, and plain HTTP redirected. Off by default
# because `make run` serves plain HTTP on loopback; behind a TLS proxy list it in TRUSTED_PROXIES so its
# X-Forwarded-Proto marks requests secure.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# The health check is probed over plain HTTP by load balancers and the RTMP hooks come from nginx on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^hooks/"]


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url if "//" in url else f"{AWS_S3_URL_PROTOCOL}//{url}")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# Content-Security-Policy (django-csp) on every answer: scripts and styles from the site only (no inline
# script anywhere; inline style attributes only), HLS from the ingest or CDN, media from the object store.
# hls.js plays through MediaSource blob: URLs and may start a blob: worker.
_MEDIA_ORIGINS = sorted(
    {
        origin
        for origin in (_origin(HLS_PUBLIC_URL), _origin(AWS_S3_CUSTOM_DOMAIN), _origin(AWS_S3_ENDPOINT_URL))
        if origin
    }
    # Amazon's own S3 names its buckets under amazonaws.com when no endpoint or domain is given.
    | ({"https://*.amazonaws.com"} if AWS_STORAGE_BUCKET_NAME and not AWS_S3_ENDPOINT_URL else set())
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_MEDIA_ORIGINS],
        "media-src": ["'self'", "blob:", *_MEDIA_ORIGINS],
        "connect-src": ["'self'", *_MEDIA_ORIGINS],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
