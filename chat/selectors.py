import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from pymongo import DESCENDING

from accounts.models import User
from chat.models import ChatBan, Emote, EmoteUse, PinnedMessage
from chat.presence import room_viewers_read
from chat.wordfilter import words_parse
from rooms.models import Room
from streamlite.mongo import MESSAGES, mongo_db
from streamlite.redis import keys, redis_sync

RULES_TTL_S = 60


@dataclass(frozen=True)
class RoomChatRules:
    allow_comments: bool
    cooldown_ms: int
    slow_mode_s: int
    words: tuple[str, ...]
    owner_id: int
    moderator_ids: frozenset[int]
    # Level gates; 0: anyone. Defaults: rules cached before they existed still read.
    danmaku_style_min_level: int = 0
    slow_mode_min_level: int = 0

    def is_moderator(self, user_id: int) -> bool:
        return user_id == self.owner_id or user_id in self.moderator_ids


def _rules_from_json(raw: str) -> RoomChatRules:
    data = json.loads(raw)
    data["words"] = tuple(data["words"])
    data["moderator_ids"] = frozenset(data["moderator_ids"])
    return RoomChatRules(**data)


def _rules_to_json(rules: RoomChatRules) -> str:
    data = asdict(rules)
    data["words"] = list(rules.words)
    data["moderator_ids"] = sorted(rules.moderator_ids)
    return json.dumps(data)


def room_chat_rules(room_id: int) -> RoomChatRules | None:
    """What the chat pipeline checks before accepting a message in the room; None when the room does not
    exist. Cached in Redis for 60 s (JSON string); chat.services.room_chat_rules_changed drops it."""
    redis = redis_sync()
    raw = redis.get(keys.chat_rules(room_id))
    if raw is not None:
        return _rules_from_json(raw)
    room = (
        Room.objects.filter(pk=room_id)
        .only(
            "owner_id",
            "allow_comments",
            "comment_cooldown_ms",
            "slow_mode_seconds",
            "blocked_words",
            "danmaku_style_min_level",
            "slow_mode_min_level",
        )
        .first()
    )
    if room is None:
        return None
    rules = RoomChatRules(
        allow_comments=room.allow_comments,
        cooldown_ms=room.comment_cooldown_ms,
        slow_mode_s=room.slow_mode_seconds,
        words=words_parse(room.blocked_words),
        owner_id=room.owner_id,
        moderator_ids=frozenset(room.moderators.values_list("pk", flat=True)),
        danmaku_style_min_level=room.danmaku_style_min_level,
        slow_mode_min_level=room.slow_mode_min_level,
    )
    redis.set(keys.chat_rules(room_id), _rules_to_json(rules), ex=RULES_TTL_S)
    return rules


def chat_ban_active(*, user_id: int, room_id: int) -> ChatBan | None:
    """The ban keeping the user from chatting in the room now (a sitewide one or one of this room), the
    longest first; None when they may chat."""
    now = timezone.now()
    return (
        ChatBan.objects.filter(Q(room_id=room_id) | Q(room__isnull=True), user_id=user_id)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-expires_at")  # PostgreSQL sorts NULL (permanent) first in descending order
        .first()
    )


def chat_banned_users(*, room_id: int) -> frozenset[int]:
    """Who may not chat in the room now: its bans and the sitewide ones."""
    now = timezone.now()
    return frozenset(
        ChatBan.objects.filter(Q(room_id=room_id) | Q(room__isnull=True))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("user_id", flat=True)
    )


def room_messages(*, room_id: int, before: int | None = None, limit: int = 50) -> list[dict]:
    """The room's archived messages, newest first, older than message ``before``; deleted ones left out."""
    query: dict = {"room": room_id, "deleted": {"$ne": True}}
    if before is not None:
        query["_id"] = {"$lt": before}
    return list(mongo_db()[MESSAGES].find(query).sort("_id", DESCENDING).limit(limit))


def messages_search(
    *,
    room_id: int | None = None,
    username: str = "",
    text: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict], int]:
    """Archived messages for staff's chat log (deleted ones included), newest first, and how many match.
    Username and text match as plain substrings: the input is escaped, never run as a pattern."""
    query: dict = {}
    if room_id is not None:
        query["room"] = room_id
    if username:
        query["username"] = {"$regex": re.escape(username), "$options": "i"}
    if text:
        query["text"] = {"$regex": re.escape(text), "$options": "i"}
    if since is not None or until is not None:
        query["created_at"] = {}
        if since is not None:
            query["created_at"]["$gte"] = since
        if until is not None:
            query["created_at"]["$lt"] = until
    messages = mongo_db()[MESSAGES]
    found = list(messages.find(query).sort("_id", DESCENDING).skip(offset).limit(limit))
    return found, messages.count_documents(query)


VIEWER_LIST_MAX = 200


def room_viewers(*, room_id: int) -> dict:
    """Who watches the room now: the signed-in viewers by name (the first VIEWER_LIST_MAX by username),
    how many are signed in, and how many watch without an account."""
    user_ids, anonymous = room_viewers_read(room_id=room_id)
    users = User.objects.filter(pk__in=user_ids, is_active=True).only("username", "display_name", "level")
    return {
        "users": list(users.order_by("username")[:VIEWER_LIST_MAX]),
        "signed_in": len(user_ids),
        "anonymous": anonymous,
    }


def room_pinned_message(*, room_id: int) -> dict | None:
    """The message pinned above the room's chat (the pin event's ``message``), or None."""
    return PinnedMessage.objects.filter(room_id=room_id).values_list("message", flat=True).first()


EMOTES_CACHE_TTL_S = 300


def emotes_site() -> QuerySet[Emote]:
    return Emote.objects.filter(room__isnull=True).order_by("name")


def emotes_of_room(*, room_id: int) -> QuerySet[Emote]:
    return Emote.objects.filter(room_id=room_id).order_by("name")


def emote_entry(emote: Emote) -> dict:
    """An emote as pages and the websocket see it."""
    return {
        "id": emote.pk,
        "name": emote.name,
        "url": emote.image.url,
        "scope": "site" if emote.room_id is None else "room",
    }


def _emotes_cached(key: str, emotes: QuerySet[Emote]) -> list[dict]:
    redis = redis_sync()
    raw = redis.get(key)
    if raw is not None:
        return json.loads(raw)
    entries = [emote_entry(emote) for emote in emotes]
    redis.set(key, json.dumps(entries), ex=EMOTES_CACHE_TTL_S)
    return entries


def emote_map(*, room_id: int) -> list[dict]:
    """The emotes a room's messages may use (the site's, then the room's), cached in Redis; chat.services
    .emotes_changed drops the cache."""
    return [
        *_emotes_cached(keys.CHAT_EMOTES_SITE, emotes_site()),
        *_emotes_cached(keys.chat_emotes(room_id), emotes_of_room(room_id=room_id)),
    ]


def emote_uses_in_room(*, room_id: int) -> dict[int, int]:
    """Emote id -> how many messages in the room used it (counted up to the last flush)."""
    return dict(EmoteUse.objects.filter(room_id=room_id).values_list("emote_id", "count"))
