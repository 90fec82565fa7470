"""Settings every part needs: the environment, paths, apps, middleware, templates, database, accounts and
languages. Code reads ``settings.X`` only; each concern's settings live in a module of this package."""

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# What an install writes (secrets, logs, HLS, recordings): scripts/run.sh exports the same folder.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)


def debug_secret() -> str:
    """A secret for a DEBUG process that was given none. URL-safe characters only: a value starting with
    "$" is read by django-environ as the name of another variable (Django's key generator draws "$")."""
    return secrets.token_urlsafe(50)


# No key written in the source signs anything: `make run` generates both secrets into var/secrets.env
# (scripts/make_secrets.py). Without DEBUG a missing one stops the start; with DEBUG and none given, each
# process draws its own, so sessions and tokens last as long as that process.
SECRET_KEY = env.str("SECRET_KEY", default=debug_secret() if DEBUG else environ.Env.NOTSET)
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
    "clips",
    "schedule",
    "notifications",
    "webhooks",
    "relay",
    "pages",
]

MIDDLEWARE = [
    # Request id, timing and the access line around everything else (streamlite.middleware).
    "streamlite.middleware.ObservabilityMiddleware",
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

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

# New users stream at once unless the site asks streamers to apply (DESIGN §3); staff can
# change it later in the admin's site settings, this is only the initial value.
STREAMERS_NEED_APPROVAL = env.bool("STREAMERS_NEED_APPROVAL", default=False)
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=2 * 1024 * 1024)
