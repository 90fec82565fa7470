"""Webhook delivery: how long a receiver may take, how often a delivery is tried, when an endpoint stops."""

from streamlite.settings.base import env

# Connecting and waiting for the receiver's answer together; a hanging receiver holds a worker no longer.
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
# Attempts per delivery, spaced by an exponential backoff starting at WEBHOOK_RETRY_BASE_S.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
WEBHOOK_RETRY_BASE_S = env.int("WEBHOOK_RETRY_BASE_S", default=30)
# An endpoint whose deliveries failed this many times in a row is disabled and its owner told.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=10)
