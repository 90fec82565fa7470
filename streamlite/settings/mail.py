"""Outgoing mail: the backend, the sender, the site address links in mails point to, and e-mail alerts."""

from streamlite.settings.base import env

# Password reset, e-mail change, verification links and alerts go out through Django's mail backend:
# smtp://user:pass@host:587 (smtp+tls://, smtp+ssl://) or consolemail:// to print them to the log
# (make run's default).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# An API provider instead of SMTP: EMAIL_BACKEND=anymail.backends.mailgun.EmailBackend (any of
# django-anymail's backends) and its credentials as JSON in ANYMAIL, e.g. {"MAILGUN_API_KEY": "..."}.
if env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
ANYMAIL = env.json("ANYMAIL", default={})
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="StreamLite <noreply@localhost>")
# Mails sent by the worker have no request to take the site's address from.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# At most one alert e-mail per streamer and reader in this many seconds; what happens meanwhile waits
# and goes out together in the next one.
EMAIL_ALERT_INTERVAL_S = env.int("EMAIL_ALERT_INTERVAL_S", default=3600)
# Attempts per alert e-mail when the mail server fails, spaced by a backoff starting at the base.
EMAIL_ALERT_MAX_ATTEMPTS = env.int("EMAIL_ALERT_MAX_ATTEMPTS", default=6)
EMAIL_ALERT_RETRY_BASE_S = env.int("EMAIL_ALERT_RETRY_BASE_S", default=60)

# The initial value of the site setting staff change in the admin: new accounts confirm their address
# before the site mails them alerts (they can log in meanwhile).
EMAIL_VERIFICATION_REQUIRED = env.bool("EMAIL_VERIFICATION_REQUIRED", default=False)
