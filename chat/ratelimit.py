"""Cooldown and token bucket per user and room, checked and charged atomically in one Redis script so two
web processes cannot both let the same user through."""

from django.conf import settings
from redis.asyncio import Redis

# KEYS[1] bucket hash {tokens, at}; ARGV: cooldown_ms, bucket size, refill per ms.
# Returns 0 when the message may go (and charges it), else the milliseconds to wait.
_SCRIPT = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)
local cooldown = tonumber(ARGV[1])
local size = tonumber(ARGV[2])
local refill = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'last')
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
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now, 'last', now)
redis.call('PEXPIRE', KEYS[1], math.max(cooldown, math.ceil(size / refill)) + 1000)
return 0
"""


def bucket_key(*, room_id: int, user_id: int) -> str:
    return f"chat:room:{room_id}:rate:{user_id}"


async def rate_limit_take(*, redis: Redis, room_id: int, user_id: int, cooldown_ms: int) -> int:
    """Charge one message to the user in the room: 0 when it may go, else the retry-after in ms."""
    script = redis.register_script(_SCRIPT)
    refill_per_ms = settings.CHAT_BUCKET_REFILL_PER_S / 1000
    return int(
        await script(
            keys=[bucket_key(room_id=room_id, user_id=user_id)],
            args=[cooldown_ms, settings.CHAT_BUCKET_SIZE, refill_per_ms],
        )
    )
