"""Chat and danmaku: the websocket pipeline's limits and the hub's delivery tick."""

from streamlite.settings.base import env

CHAT_TICK_MS = env.int("CHAT_TICK_MS", default=150)
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
# Emotes (PNG, GIF or WebP): per file, per side, and how many one room may have.
EMOTE_MAX_BYTES = env.int("EMOTE_MAX_BYTES", default=256 * 1024)
EMOTE_MAX_SIDE = 256
EMOTES_PER_ROOM = env.int("EMOTES_PER_ROOM", default=50)
