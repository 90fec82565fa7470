"""Danmaku lanes (seed 004): per room and mode a Redis hash lane → "free at" (ms); a new danmaku takes the
lane that frees soonest, so simultaneous danmaku from any web process land in different lanes."""

LANES = {"scroll": 12, "top": 6, "bottom": 6}
# How long a danmaku keeps its lane busy: a scrolling one until its tail has entered the screen (longer
# text, longer), a fixed one for as long as it is shown.
FIXED_SHOW_MS = 4000
SCROLL_BASE_MS = 1000
SCROLL_PER_CHAR_MS = 80

# lane_take(key of the lanes hash, busy ms, number of lanes): the lane taken. The accept path's script
# (chat.pipeline) runs it once the message is admitted.
LANE_LUA = """
local function lane_take(key, busy, count)
  local now_t = redis.call('TIME')
  local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
  local names = {}
  for i = 1, count do names[i] = tostring(i - 1) end
  local free = redis.call('HMGET', key, unpack(names))
  local best, best_at = 0, nil
  for i = 1, count do
    local at = tonumber(free[i]) or 0
    if at <= now then best, best_at = i - 1, at break end
    if best_at == nil or at < best_at then best, best_at = i - 1, at end
  end
  redis.call('HSET', key, tostring(best), math.max(now, best_at) + busy)
  redis.call('PEXPIRE', key, 60000)
  return best
end
"""


def lane_busy_ms(*, mode: str, text: str) -> int:
    if mode == "scroll":
        return SCROLL_BASE_MS + SCROLL_PER_CHAR_MS * len(text)
    return FIXED_SHOW_MS


def lane_args(*, mode: str, text: str) -> list[int]:
    """The arguments of ``lane_take`` after its key."""
    return [lane_busy_ms(mode=mode, text=text), LANES[mode]]
