"""Settings read once from the environment (DESIGN §3); code reads ``settings.X`` only."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# No key written in the source signs anything: `make run` generates both secrets into var/secrets.env
# (scripts/make_secrets.py). Without DEBUG a missing one stops the start; with DEBUG and none given, each
# process draws its own, so sessions and tokens last as long as that process.
SECRET_KEY = env.str("SECRET_KEY", default=get_random_secret_key() if DEBUG else environ.Env.NOTSET)
# Reverse proxies (addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed
# (streamlite.proxy); nobody's by default.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "csp",
    "accounts",
    "rooms",
    "streams",
    "chat",
    "vod",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "streamlite.urls"
WSGI_APPLICATION = "streamlite.wsgi.application"
ASGI_APPLICATION = "streamlite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "rooms.context_processors.navigation",
            ],
        },
    },
]

# The PostgreSQL that `make run` starts under var/services (scripts/services.sh, PG_PORT 5433 there).
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://streamlite@127.0.0.1:5433/postgres")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Only when asked for: several processes write at once (web workers, Celery). IMMEDIATE takes the write
    # lock at BEGIN, where the busy timeout applies, instead of failing a read-then-write transaction with
    # "database is locked"; WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=env.int("SQLITE_BUSY_TIMEOUT_S", default=20),
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool rather than CONN_MAX_AGE: under ASGI each request runs in its own thread, so per-thread
    # persistent connections would pile up; the pool hands connections back at the end of a request.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2),
        "max_size": env.int("DB_POOL_MAX", default=20),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
# The languages the site ships complete catalogues for (locale/); the switcher lists them in this order.
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Daphne does not serve static files itself; WhiteNoise does, from the source folders while developing.
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", default=True)
# Where browsers fetch media when the store's API address is internal (e.g. "media.example.com/bucket");
# such URLs are public, so the bucket must allow anonymous reads.
AWS_S3_CUSTOM_DOMAIN = env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None
AWS_S3_URL_PROTOCOL = env.str("AWS_S3_URL_PROTOCOL", default="https:")
AWS_DEFAULT_ACL = None
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
# channels_redis waits for messages with a 5 s blocking pop, and redis-py's default socket timeout is
# also 5 s: an idle socket's read would time out inside channels and kill its consumer. Longer than the
# pop, still finite so a vanished Redis is noticed.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
    }
}

MONGO_URL = env.str("MONGO_URL", default="mongodb://127.0.0.1:27017/")
MONGO_DB = env.str("MONGO_DB", default="streamlite")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE: dict = {}
# The dashboard's viewers-over-time chart: one sample per live stream every 30 s. Celery's autodiscovery
# only finds modules named tasks, hence the explicit import.
CELERY_IMPORTS = ["streams.tasks_samples"]
CELERY_BEAT_SCHEDULE["streams-sample-viewers"] = {
    "task": "streams.tasks_samples.sample_viewers",
    "schedule": 30.0,
}

RTMP_HOOK_SECRET = env.str(
    "RTMP_HOOK_SECRET", default=get_random_secret_key() if DEBUG else environ.Env.NOTSET
)
RTMP_PUBLIC_URL = env.str("RTMP_PUBLIC_URL", default="rtmp://127.0.0.1:1935/live")
HLS_PUBLIC_URL = env.str("HLS_PUBLIC_URL", default="http://127.0.0.1:8080/hls")
HLS_ROOT = env.path("HLS_ROOT", default=str(VAR_DIR / "hls"))
RECORDINGS_ROOT = env.path("RECORDINGS_ROOT", default=str(VAR_DIR / "recordings"))
# Ingest (streams): what render_rtmp_config writes into nginx's config and what the hooks and tasks use.
RTMP_PORT = env.int("RTMP_PORT", default=1935)
HLS_HTTP_PORT = env.int("HLS_HTTP_PORT", default=8080)
RTMP_HOOK_BASE_URL = env.str("RTMP_HOOK_BASE_URL", default="http://127.0.0.1:8000")
RTMP_HLS_APP = env.str("RTMP_HLS_APP", default="hls")
RTMP_UPDATE_INTERVAL_S = env.int("RTMP_UPDATE_INTERVAL_S", default=10)
# nginx's /stat and /control handlers (loopback-only in the rendered config): with several ingest nodes,
# each node's URL, comma-separated, reachable from the workers; reconcile and key-reset drops ask them all.
INGEST_HTTP_URL = env.str("INGEST_HTTP_URL", default=f"http://127.0.0.1:{HLS_HTTP_PORT}")
INGEST_CONTROL_ALLOW = env.list("INGEST_CONTROL_ALLOW", default=[])
CELERY_BEAT_SCHEDULE["streams-reap-stale"] = {"task": "streams.tasks.streams_reap_stale", "schedule": 30.0}
CELERY_BEAT_SCHEDULE["streams-ingest-reconcile"] = {
    "task": "streams.tasks.ingest_reconcile",
    "schedule": 60.0,
}

# New users stream at once unless the site asks streamers to apply (DESIGN §3); staff can
# change it later in the admin's site settings, this is only the initial value.
STREAMERS_NEED_APPROVAL = env.bool("STREAMERS_NEED_APPROVAL", default=False)
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=2 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_SCHEMA_CLASS": "streamlite.api.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["streamlite.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "streamlite.api.api_exception_handler",
    # Counted in the default cache (Redis), so every web process shares the same budget.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "auth": env.str("API_THROTTLE_AUTH", default="20/min"),
    },
    # The address is REMOTE_ADDR, already the client's behind a trusted proxy (streamlite.proxy); DRF must
    # not read X-Forwarded-For again, or anyone could escape the limits with a forged header.
    "NUM_PROXIES": 0,
}
# Client JSON (API bodies, websocket frames; streamlite.json_input): deeper nesting or a bigger API body is
# a 400 / an `invalid` event. No request of the site nests more than a few levels.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=32)
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=1024 * 1024)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "StreamLite API",
    "DESCRIPTION": (
        "Authenticate with `Authorization: Bearer <access>` (POST /api/auth/token/). Every 4xx answer "
        'has the body `{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"] = {
    "task": "accounts.tasks.blacklisted_tokens_flush",
    "schedule": 6 * 60 * 60.0,
}
# Read notifications older than 90 days are dropped (notifications.services.notifications_prune).
CELERY_BEAT_SCHEDULE["notifications-prune"] = {
    "task": "notifications.tasks.notifications_prune",
    "schedule": 3600.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

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

# VODs (vod app). Processing runs under `nice` so live viewers keep the CPU; the hard limit stays below the
# broker's visibility timeout so a running job is never handed to a second worker while the first lives.
VOD_PROCESS_SOFT_TIME_LIMIT_S = env.int("VOD_PROCESS_SOFT_TIME_LIMIT_S", default=45 * 60)
VOD_PROCESS_TIME_LIMIT_S = VOD_PROCESS_SOFT_TIME_LIMIT_S + 120
VOD_NICENESS = env.int("VOD_NICENESS", default=10)
VOD_HLS_SEGMENT_S = env.int("VOD_HLS_SEGMENT_S", default=6)
# One view per viewer per VOD in this window (seconds), counted with Redis SET NX EX.
VOD_VIEW_WINDOW_S = env.int("VOD_VIEW_WINDOW_S", default=300)
# An unacknowledged task (its worker died) goes back to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# Chat and danmaku (chat app): the websocket pipeline's limits and the hub's delivery tick.
CHAT_TICK_MS = env.int("CHAT_TICK_MS", default=100)
CHAT_RECENT_COUNT = 100
CHAT_TEXT_MAX_CHARS = 200
CHAT_FRAME_MAX_BYTES = 2048
# A socket whose queue holds this many unsent frames is closed (4008) rather than slowing its room.
CHAT_SOCKET_QUEUE_FRAMES = env.int("CHAT_SOCKET_QUEUE_FRAMES", default=256)
# Danmaku shown over the video per room per tick; the rest arrive marked "overflow" (chat list only).
CHAT_DANMAKU_PER_TICK = env.int("CHAT_DANMAKU_PER_TICK", default=60)
# Token bucket per user and room, on top of the room's cooldown: a burst, then a sustained rate.
CHAT_BUCKET_SIZE = env.int("CHAT_BUCKET_SIZE", default=10)
CHAT_BUCKET_REFILL_PER_S = env.float("CHAT_BUCKET_REFILL_PER_S", default=0.5)
CHAT_PRESENCE_INTERVAL_S = env.float("CHAT_PRESENCE_INTERVAL_S", default=5.0)
# redis.asyncio pool per web process; callers wait for a free connection instead of failing.
CHAT_REDIS_MAX_CONNECTIONS = env.int("CHAT_REDIS_MAX_CONNECTIONS", default=50)
CELERY_IMPORTS = [*CELERY_IMPORTS, "chat.presence"]
CELERY_BEAT_SCHEDULE["chat-room-stats-flush"] = {"task": "chat.presence.room_stats_flush", "schedule": 15.0}
# The chat archive: beat starts a flush of the Redis outbox into MongoDB every second (the task keeps
# draining for a few seconds while there is work); a flush not started within a second is skipped.
CELERY_BEAT_SCHEDULE["chat-outbox-flush"] = {
    "task": "chat.tasks.chat_outbox_flush",
    "schedule": 1.0,
    "options": {"expires": 1.0},
}
# The VOD's status and the two a streamer may set (publish/hide) share the field name "status" with rooms'.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "RoomStatusEnum": "rooms.models.Room.Status",
        "VodStatusEnum": "vod.models.Vod.Status",
        "VodVisibilityEnum": [("ready", "Published"), ("hidden", "Hidden")],
    }
)

# Operations (streamlite.health, streamlite.metrics, streamlite.logs, streamlite.middleware).
MIDDLEWARE.insert(0, "streamlite.middleware.ObservabilityMiddleware")
HEALTHZ_TIMEOUT_S = env.float("HEALTHZ_TIMEOUT_S", default=1.5)
# /metrics answers these networks, or anyone with "Authorization: Bearer METRICS_TOKEN" when it is set.
# Behind a proxy on the same host every request comes from loopback, unless that proxy is in TRUSTED_PROXIES
# (then the client's own address counts); otherwise block /metrics at the proxy or drop loopback from this list.
METRICS_ALLOWED_CIDRS = env.list("METRICS_ALLOWED_CIDRS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Read by prometheus_client itself when it is imported: several processes of a node share their counters
# through files in this folder, which must be emptied before they start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# json (one JSON object per line, the default) or plain (for a human reading a terminal).
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["formatters"]["json"] = {"()": "streamlite.logs.json_formatter"}
LOGGING["filters"] = {"context": {"()": "streamlite.logs.ContextFilter"}}
LOGGING["handlers"]["console"].update(formatter=LOG_FORMAT, filters=["context"])
LOGGING["loggers"] = {
    # uvicorn's own access line prints the query string (the RTMP hooks' secret): streamlite.access
    # logs each request instead; uvicorn's other records go through the root handler in our format.
    "uvicorn.access": {"handlers": [], "propagate": False},
    "uvicorn": {"handlers": [], "propagate": True},
    "uvicorn.error": {"handlers": [], "propagate": True},
}

# The RTMP hooks run in their own handler (streams.hooks.HookHandler) with, of the stack above, only the
# request id, timing and access line (async, no thread hop): nginx's callbacks use no session, user, CSRF
# token, message or language, and each sync middleware costs every request thread hops under ASGI
# (docs/benchmarks.md, on_publish hook latency).
RTMP_HOOK_MIDDLEWARE = [
    path for path in MIDDLEWARE if path == "streamlite.middleware.ObservabilityMiddleware"
]
# Django's cache backends live per request context under ASGI: without a pool shared by the process, each
# request would open its own Redis connection (streamlite.redis_pool).
CACHES["default"]["OPTIONS"] = {"pool_class": "streamlite.redis_pool.ProcessConnectionPool"}
