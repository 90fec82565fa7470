"""Cooldown and token bucket per user and room, checked and charged atomically in Redis so two web
processes cannot both let the same user through. The check is a Lua function: the accept path's admit
script (chat.pipeline) runs it together with the dedupe and the numbering of the message, in one round
trip."""

from django.conf import settings

# rate_limit_take(key of the bucket hash {tokens, at, last}, cooldown_ms, bucket size, refill per ms):
# 0 when the message may go (and charges it), else the milliseconds to wait.
RATE_LIMIT_LUA = """
local function rate_limit_take(key, cooldown, size, refill)
  local now_t = redis.call('TIME')
  local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
  local state = redis.call('HMGET', key, 'tokens', 'at', 'last')
  local tokens = tonumber(state[1]) or size
  local at = tonumber(state[2]) or now
  local last = tonumber(state[3]) or 0
  tokens = math.min(size, tokens + (now - at) * refill)
  if cooldown > 0 and now - last < cooldown then
    return cooldown - (now - last)
  end
  if tokens < 1 then
    return math.ceil((1 - tokens) / refill)
  end
  redis.call('HSET', key, 'tokens', tokens - 1, 'at', now, 'last', now)
  redis.call('PEXPIRE', key, math.max(cooldown, math.ceil(size / refill)) + 1000)
  return 0
end
"""


def rate_limit_args(*, cooldown_ms: int) -> list:
    """The arguments after the key of ``rate_limit_take``, from the settings."""
    return [cooldown_ms, settings.CHAT_BUCKET_SIZE, settings.CHAT_BUCKET_REFILL_PER_S / 1000]
