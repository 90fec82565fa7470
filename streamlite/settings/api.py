"""The JSON API: DRF, JWT and the OpenAPI schema."""

from datetime import timedelta

from streamlite.settings.base import env

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
    # The VOD's status and the two a streamer may set (publish/hide) share the field name "status" with
    # rooms'.
    "ENUM_NAME_OVERRIDES": {
        "RoomStatusEnum": "rooms.models.Room.Status",
        "VodStatusEnum": "vod.models.Vod.Status",
        "VodVisibilityEnum": [("ready", "Published"), ("hidden", "Hidden")],
    },
}
