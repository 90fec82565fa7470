"""The Celery worker and beat: broker, delivery, and the one beat schedule of every periodic task."""

from streamlite.settings.base import env
from streamlite.settings.ingest import PREVIEW_INTERVAL_S
from streamlite.settings.stores import REDIS_URL

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# An unacknowledged task (its worker died) goes back to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# Celery's autodiscovery only finds modules named tasks.
CELERY_IMPORTS = ["streams.tasks_samples"]

CELERY_BEAT_SCHEDULE = {
    # The chat archive: a flush of the Redis outbox into MongoDB every second (the task keeps draining for
    # a few seconds while there is work); a flush not started within a second is skipped.
    "chat-outbox-flush": {
        "task": "chat.tasks.chat_outbox_flush",
        "schedule": 1.0,
        "options": {"expires": 1.0},
    },
    # Chat's counts of each live stream into its record.
    "streams-room-records-stats": {"task": "streams.tasks.room_records_stats_save", "schedule": 15.0},
    # The dashboard's viewers-over-time chart: one sample per live stream.
    "streams-sample-viewers": {"task": "streams.tasks_samples.sample_viewers", "schedule": 30.0},
    # A fresh frame of each live stream for its card.
    "streams-previews-capture": {
        "task": "streams.tasks.stream_previews_capture",
        "schedule": float(PREVIEW_INTERVAL_S),
        "options": {"expires": float(PREVIEW_INTERVAL_S)},
    },
    # Live streams whose ingest stopped sending heartbeats end.
    "streams-reap-stale": {"task": "streams.tasks.streams_reap_stale", "schedule": 30.0},
    # Streams the ingest no longer carries (or carries unknown to us) are set right.
    "streams-ingest-reconcile": {"task": "streams.tasks.ingest_reconcile", "schedule": 60.0},
    "accounts-flush-expired-tokens": {
        "task": "accounts.tasks.blacklisted_tokens_flush",
        "schedule": 6 * 3600.0,
    },
    # Emote use counts kept in Redis by the chat pipeline reach the database.
    "chat-emote-uses-flush": {"task": "chat.tasks.chat_emote_uses_flush", "schedule": 60.0},
    # User levels: a watched minute for whoever watches live, plus the minutes they chatted.
    "chat-levels-update": {"task": "chat.tasks.chat_levels_update", "schedule": 60.0},
    # VODs older than their owner's plan keeps them are deleted.
    "vod-retention-apply": {"task": "vod.tasks.vods_retention_apply", "schedule": 3600.0},
    # Users whose plan expired fall back to the default plan (and its live quota).
    "accounts-plans-expire": {"task": "accounts.tasks.plans_expire", "schedule": 300.0},
    # Read notifications older than 90 days are dropped.
    "notifications-prune": {"task": "notifications.tasks.notifications_prune", "schedule": 3600.0},
    # "Remind me": notifications (and e-mail) shortly before a scheduled stream.
    "notifications-schedule-reminders": {
        "task": "notifications.tasks.schedule_reminders_send",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Alert e-mails held back by the one-per-interval rule or a failed attempt.
    "notifications-email-alerts": {
        "task": "notifications.tasks.email_alerts_send",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
