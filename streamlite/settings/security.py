"""Log-in lockouts, sign-up limits, client JSON limits and the cookies of a deployment."""

from datetime import timedelta

from streamlite.settings.base import DEBUG, env

# django-axes first: every log-in through authenticate() (pages, admin, the token API) counts failures and
# is refused while locked, by user name and, separately, by address (a guessed password list against one
# account from many addresses, or many accounts from one address). The lockout is in the activity log.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
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
