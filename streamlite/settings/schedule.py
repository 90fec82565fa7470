"""Scheduled streams: when a stream counts as the scheduled one, when reminders go out."""

from streamlite.settings.base import env

# A stream that goes live within this many seconds of a scheduled start (before or after) is that one.
SCHEDULE_LINK_WINDOW_S = env.int("SCHEDULE_LINK_WINDOW_S", default=30 * 60)
# "Remind me" notifies this many seconds before the scheduled start.
SCHEDULE_REMIND_BEFORE_S = env.int("SCHEDULE_REMIND_BEFORE_S", default=10 * 60)
