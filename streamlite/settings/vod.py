"""VODs. Processing runs under `nice` so live viewers keep the CPU; the hard limit stays below the broker's
visibility timeout so a running job is never handed to a second worker while the first lives."""

from streamlite.settings.base import env

VOD_PROCESS_SOFT_TIME_LIMIT_S = env.int("VOD_PROCESS_SOFT_TIME_LIMIT_S", default=45 * 60)
VOD_PROCESS_TIME_LIMIT_S = VOD_PROCESS_SOFT_TIME_LIMIT_S + 120
VOD_NICENESS = env.int("VOD_NICENESS", default=10)
VOD_HLS_SEGMENT_S = env.int("VOD_HLS_SEGMENT_S", default=6)
# One view per viewer per VOD in this window (seconds), counted with Redis SET NX EX.
VOD_VIEW_WINDOW_S = env.int("VOD_VIEW_WINDOW_S", default=300)
