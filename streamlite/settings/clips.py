"""Clips: their lengths and how many a user may make."""

from streamlite.settings.base import env

CLIP_DEFAULT_S = env.int("CLIP_DEFAULT_S", default=30)
CLIP_MIN_S = env.int("CLIP_MIN_S", default=10)
CLIP_MAX_S = env.int("CLIP_MAX_S", default=60)
# Clips one user may make per hour (counted in Redis across every web process).
CLIP_RATE_PER_HOUR = env.int("CLIP_RATE_PER_HOUR", default=20)
CLIP_NICENESS = env.int("CLIP_NICENESS", default=5)
