"""Danmaku lanes (seed 004): per room and mode a Redis hash lane → "free at" (ms); a new danmaku takes the
lane that frees soonest, so simultaneous danmaku from any web process land in different lanes."""

from redis.asyncio import Redis

from streamlite.redis import keys

LANES = {"scroll": 12, "top": 6, "bottom": 6}
# How long a danmaku keeps its lane busy: a scrolling one until its tail has entered the screen (longer
# text, longer), a fixed one for as long as it is shown.
FIXED_SHOW_MS = 4000
SCROLL_BASE_MS = 1000
SCROLL_PER_CHAR_MS = 80

# KEYS[1] lanes hash; ARGV: busy ms, then the lane numbers. Returns the lane taken.
_SCRIPT = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local busy = tonumber(ARGV[1])
local count = #ARGV - 1
local free = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
local best, best_at = 0, nil
for i = 1, count do
  local at = tonumber(free[i]) or 0
  if at <= now then best, best_at = i - 1, at break end
  if best_at == nil or at < best_at then best, best_at = i - 1, at end
end
redis.call('HSET', KEYS[1], tostring(best), math.max(now, best_at) + busy)
redis.call('PEXPIRE', KEYS[1], 60000)
return best
"""


def lane_busy_ms(*, mode: str, text: str) -> int:
    if mode == "scroll":
        return SCROLL_BASE_MS + SCROLL_PER_CHAR_MS * len(text)
    return FIXED_SHOW_MS


async def lane_take(*, redis: Redis, room_id: int, mode: str, text: str) -> int:
    script = redis.register_script(_SCRIPT)
    return int(
        await script(
            keys=[keys.chat_lanes(room_id, mode)],
            args=[lane_busy_ms(mode=mode, text=text), *range(LANES[mode])],
        )
    )
