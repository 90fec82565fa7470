"""User levels (docs/chat.md, "Levels"): points from minutes watched and minutes chatted, counted off the
hot path. The accept path only marks a chatting minute in Redis (a few lines of its script); once a
minute the beat task samples who watches live rooms (presence), drains the chatting minutes, adds both to
each user's LevelProgress and sets User.level.

Replays cannot raise a level: a frame resent with its client_id is answered by its first ack and never
counted again, new frames count at most one chatting minute per user per minute, and watching counts once
per sample whatever the number of sockets, tabs or rooms."""

import math

from django.db import transaction
from django.db.models import F

from accounts.models import User
from chat.models import LevelProgress
from chat.presence import room_scope
from rooms.models import Room
from streamlite.presence import members_fresh
from streamlite.redis import keys, redis_sync

CHAT_MINUTE_WEIGHT = 5
POINTS_PER_STEP = 30
LEVEL_MAX = 100
SAMPLE_EVERY_S = 60
# chat_minute_count(key of the user's chatting-minute marker, key of the drained hash, user id, marker TTL
# s): the accept path's script (chat.pipeline) runs it for every message it takes.
CHAT_MINUTE_LUA = """
local function chat_minute_count(marker, minutes, user_id, ttl)
  if redis.call('SET', marker, 1, 'NX', 'EX', ttl) then redis.call('HINCRBY', minutes, user_id, 1) end
end
"""
CHAT_MINUTE_TTL_S = 60


def level_for(*, watch_minutes: int, chat_minutes: int) -> int:
    """level = 1 + floor(sqrt(points / 30)), points = minutes watched + 5 × minutes with a message."""
    points = watch_minutes + CHAT_MINUTE_WEIGHT * chat_minutes
    return min(LEVEL_MAX, 1 + math.isqrt(points // POINTS_PER_STEP))


def chat_minute_keys(user_id: int) -> list[str]:
    """The keys of ``chat_minute_count`` for the user."""
    return [keys.level_chat_marker(user_id), keys.LEVEL_CHAT_MINUTES]


def _watchers_sampled() -> set[int]:
    """The users watching any live room now, each once."""
    watchers: set[int] = set()
    for room_id in Room.objects.filter(status=Room.Status.LIVE).values_list("pk", flat=True):
        for member in members_fresh(room_scope(room_id)):
            if member.startswith("u:"):
                watchers.add(int(member[2:]))
    return watchers


def _chat_minutes_drained() -> dict[int, int]:
    redis = redis_sync()
    counts = {int(user): int(n) for user, n in redis.hgetall(keys.LEVEL_CHAT_MINUTES).items() if int(n) > 0}
    if counts:
        with redis.pipeline(transaction=False) as pipe:
            for user_id, n in counts.items():
                pipe.hincrby(keys.LEVEL_CHAT_MINUTES, user_id, -n)
            pipe.execute()
    return counts


def levels_update() -> int:
    """One minute of levels: add a watched minute to whoever watches a live room now (once per minute
    even if the task runs twice) and the chatting minutes counted since the last run; returns how many
    users changed level."""
    redis = redis_sync()
    watchers = (
        _watchers_sampled() if redis.set(keys.LEVEL_SAMPLED, 1, nx=True, ex=SAMPLE_EVERY_S - 5) else set()
    )
    chatted = _chat_minutes_drained()
    users = watchers | set(chatted)
    if not users:
        return 0
    existing = set(User.objects.filter(pk__in=users).values_list("pk", flat=True))
    changed = 0
    with transaction.atomic():
        LevelProgress.objects.bulk_create(
            [LevelProgress(user_id=user_id) for user_id in sorted(existing)], ignore_conflicts=True
        )
        for user_id in sorted(existing):
            LevelProgress.objects.filter(user_id=user_id).update(
                watch_minutes=F("watch_minutes") + (1 if user_id in watchers else 0),
                chat_minutes=F("chat_minutes") + chatted.get(user_id, 0),
            )
        progress = LevelProgress.objects.filter(user_id__in=existing).values_list(
            "user_id", "watch_minutes", "chat_minutes"
        )
        for user_id, watch_minutes, chat_minutes in progress:
            level = level_for(watch_minutes=watch_minutes, chat_minutes=chat_minutes)
            changed += User.objects.filter(pk=user_id).exclude(level=level).update(level=level)
    return changed
