"""The accept path of chat and danmaku: every frame a client sends goes through ``frame_handle``, which
answers with the events for the sender only (ack, error, resume fill); accepted messages reach the room
through the hub. Async all the way: ORM through database_sync_to_async, Redis through redis.asyncio."""

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from chat import events as chat_events
from chat.events import ErrorCode
from chat.hub import DEDUPE_TTL_S, MESSAGE_TYPES, Hub, publish_call
from chat.lanes import lane_take
from chat.levels import chat_minute_counted
from chat.models import EMOTE_NAME_PATTERN
from chat.presence import comment_counted, room_live_stream
from chat.ratelimit import RATE_LIMIT_LUA, rate_limit_args
from chat.selectors import RoomChatRules, chat_ban_active, chat_banned_users, emote_map, room_chat_rules
from chat.wordfilter import text_blocked
from streamlite import metrics
from streamlite.json_input import JsonRefused, json_loads_limited
from streamlite.redis import chat_replica_wait, keys
from streamlite.text import text_visible

logger = logging.getLogger(__name__)

MODES = ("scroll", "top", "bottom")
SIZES = ("small", "normal", "big")
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
COLOR_NAMES = {
    "red": "#ff0000",
    "green": "#00ff00",
    "blue": "#0000ff",
    "yellow": "#ffff00",
    "white": "#ffffff",
    "pink": "#ff8080",
    "orange": "#ffc000",
    "purple": "#c000ff",
    "cyan": "#00ffff",
    "black": "#000000",
}
MODE_COMMANDS = {"ue": "top", "shita": "bottom", "naka": "scroll"}
SIZE_COMMANDS = {"small": "small", "big": "big", "medium": "normal"}
DANMAKU_PLAIN_COLOR = "#ffffff"
CLIENT_ID_MAX = 64
RULES_CACHE_S = 2.0
EMOTES_CACHE_S = 5.0
EMOTE_RE = re.compile(f":({EMOTE_NAME_PATTERN}):")
BAN_CACHE_S = 5.0
# Message ids are unique site-wide and rise within a room, yet a room's admission touches only keys of its
# own (one shard of a cluster): each room numbers its messages from blocks it leases from the site-wide
# counter. A block a room leaves unused is a gap in the ids, nothing more.
ID_BLOCK = 100
# The admission of a message in one round trip (each await of the accept path waits behind whatever the
# event loop is doing, fan-outs to a thousand sockets included): a resend is answered with its first ack,
# else the rate limit is charged, the client id marked in flight and the message given its id (its seq
# comes with its publishing, chat.hub.PUBLISH_SCRIPT).
# KEYS (one room's): dedupe, rate bucket, id block {next, last}. ARGV: dedupe TTL s (0: no client id), the
# rate limit's three, then a fresh id block (first, last) when the room's is used up.
# Returns {"resend", first ack or "" while in flight} | {"ids"}: lease a block and call again |
# {"limited", retry ms} | {"ok", id}.
_ADMIT_SCRIPT = (
    RATE_LIMIT_LUA
    + """
local dedupe = ARGV[1] ~= '0'
if dedupe then
  local original = redis.call('GET', KEYS[1])
  if original then return {'resend', original} end
end
local block = redis.call('HMGET', KEYS[3], 'next', 'last')
local next_id, last_id = tonumber(block[1]) or 1, tonumber(block[2]) or 0
if next_id > last_id then
  if ARGV[5] == nil then return {'ids'} end
  next_id, last_id = tonumber(ARGV[5]), tonumber(ARGV[6])
  redis.call('HSET', KEYS[3], 'next', next_id, 'last', last_id)
end
local wait = rate_limit_take(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
if wait > 0 then return {'limited', wait} end
if dedupe then redis.call('SET', KEYS[1], '', 'EX', ARGV[1]) end
redis.call('HSET', KEYS[3], 'next', next_id + 1)
return {'ok', next_id}
"""
)


@dataclass(frozen=True)
class Sender:
    """Who is on the other end of a socket, resolved once at connect."""

    room_id: int
    user_id: int | None
    username: str = ""
    display_name: str = ""
    is_staff: bool = False
    # As computed when the socket connected (levels change in the background, at most once a minute).
    level: int = 1


class Rejected(Exception):
    def __init__(
        self,
        code: str,
        message: str | None = None,
        retry_after_ms: int | None = None,
        level: int | None = None,
    ):
        super().__init__(code)
        self.code, self.message, self.retry_after_ms, self.level = code, message, retry_after_ms, level


def level_gates_check(*, rules: RoomChatRules, level: int, message: dict) -> None:
    """The room's level gates: chat while slow mode is on, and coloured or top/bottom danmaku."""
    if rules.slow_mode_s and level < rules.slow_mode_min_level:
        raise Rejected(
            ErrorCode.LEVEL_REQUIRED,
            _("Slow mode is on: chatting in this room needs level %(level)d.")
            % {"level": rules.slow_mode_min_level},
            level=rules.slow_mode_min_level,
        )
    styled = "mode" in message and (message["mode"] != "scroll" or message["color"] != DANMAKU_PLAIN_COLOR)
    if styled and level < rules.danmaku_style_min_level:
        raise Rejected(
            ErrorCode.LEVEL_REQUIRED,
            _("Coloured and top or bottom danmaku in this room need level %(level)d.")
            % {"level": rules.danmaku_style_min_level},
            level=rules.danmaku_style_min_level,
        )


def commands_parse(text: str) -> tuple[str, dict]:
    """Split niconico-style commands typed before the text (``ue red big hello``) from it: returns the
    text and the style they set (mode, color, size). Text made only of command words is plain text."""
    words = text.split(" ")
    style: dict = {}
    for index, word in enumerate(words):
        command = word.lower()
        if command in MODE_COMMANDS:
            style["mode"] = MODE_COMMANDS[command]
        elif command in COLOR_NAMES:
            style["color"] = COLOR_NAMES[command]
        elif command in SIZE_COMMANDS:
            style["size"] = SIZE_COMMANDS[command]
        else:
            rest = " ".join(words[index:]).strip()
            return (rest, style) if rest else (text, {})
    return text, {}


def _text_clean(raw) -> str:
    if not isinstance(raw, str):
        raise Rejected(ErrorCode.INVALID)
    # NFC: Vietnamese typed as letters plus combining marks counts (and is stored) as the letters users see.
    text = unicodedata.normalize("NFC", raw).strip()
    if not text_visible(text):
        raise Rejected(ErrorCode.INVALID, _("Type a message first."))
    return text


def _text_check_length(text: str) -> None:
    if len(text) > settings.CHAT_TEXT_MAX_CHARS:
        raise Rejected(ErrorCode.TOO_LONG)


def message_validate(payload: dict) -> dict:
    """The cleaned message of a chat or danmaku frame: text, and for danmaku mode, color, size."""
    kind = payload["type"]
    text = _text_clean(payload.get("text"))
    if kind == "chat":
        _text_check_length(text)
        return {"text": text}
    mode = payload.get("mode", "scroll")
    color = payload.get("color", DANMAKU_PLAIN_COLOR)
    size = payload.get("size", "normal")
    if mode not in MODES or size not in SIZES or not isinstance(color, str) or not COLOR_RE.fullmatch(color):
        raise Rejected(ErrorCode.INVALID, _("Unknown danmaku mode, colour or size."))
    text, style = commands_parse(text)
    _text_check_length(text)
    return {"text": text, "mode": mode, "color": color.lower(), "size": size, **style}


async def _rules(hub: Hub, room_id: int) -> RoomChatRules | None:
    return await hub.cached_load(
        ("rules", room_id), RULES_CACHE_S, lambda: database_sync_to_async(room_chat_rules)(room_id)
    )


async def _emote_ids(hub: Hub, room_id: int) -> dict[str, int]:
    """Emote name -> id in the room (a room emote wins over the site's of the same name), for counting."""

    async def load() -> dict[str, int]:
        entries = await database_sync_to_async(emote_map)(room_id=room_id)
        return {entry["name"]: entry["id"] for entry in entries}

    return await hub.cached_load(("emotes", room_id), EMOTES_CACHE_S, load)


def emotes_used(text: str, ids: dict[str, int]) -> set[int]:
    """The ids of the known emotes a message uses, each once."""
    if not ids or ":" not in text:
        return set()
    return {ids[name] for name in EMOTE_RE.findall(text) if name in ids}


async def _banned(hub: Hub, *, user_id: int, room_id: int) -> bool:
    # Who is banned in the room, one query per room and a few seconds rather than one per sender: a ban
    # order drops the entry (a ban bites at once), and a listed user is checked again (a lifted ban too).
    banned = await hub.cached_load(
        ("bans", room_id), BAN_CACHE_S, lambda: database_sync_to_async(chat_banned_users)(room_id=room_id)
    )
    if user_id not in banned:
        return False
    return await database_sync_to_async(chat_ban_active)(user_id=user_id, room_id=room_id) is not None


async def message_accept(*, hub: Hub, sender: Sender, payload: dict) -> dict | None:
    """Check, number, store and queue one chat or danmaku message; returns the sender's ack (None when
    the same client_id is being accepted right now by another frame)."""
    client_id = payload.get("client_id") or ""
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX:
        raise Rejected(ErrorCode.INVALID)
    if sender.user_id is None:
        raise Rejected(ErrorCode.AUTH_REQUIRED)
    message = message_validate(payload)
    room_id, redis = sender.room_id, hub.redis
    rules = await _rules(hub, room_id)
    if rules is None or not rules.allow_comments:
        raise Rejected(ErrorCode.COMMENTS_OFF)
    if await _banned(hub, user_id=sender.user_id, room_id=room_id):
        raise Rejected(ErrorCode.BANNED)
    if text_blocked(message["text"], rules.words):
        raise Rejected(ErrorCode.INVALID, _("This message contains a word blocked in this room."))
    exempt = sender.is_staff or rules.is_moderator(sender.user_id)
    if not exempt:
        level_gates_check(rules=rules, level=sender.level, message=message)
    dedupe = keys.chat_dedupe(room_id, sender.user_id, client_id) if client_id else ""
    cooldown_ms = 0 if exempt else (rules.slow_mode_s * 1000 or rules.cooldown_ms)
    admit = hub.chat_redis.register_script(_ADMIT_SCRIPT)
    admit_keys = [
        dedupe or keys.chat_dedupe(room_id, sender.user_id, ""),
        keys.chat_rate(room_id, sender.user_id),
        keys.chat_ids(room_id),
    ]
    args = [DEDUPE_TTL_S if dedupe else 0, *rate_limit_args(cooldown_ms=cooldown_ms)]
    verdict, *values = await admit(keys=admit_keys, args=args)
    if verdict == "ids":
        last_id = await redis.incrby(keys.CHAT_NEXT_ID, ID_BLOCK)
        verdict, *values = await admit(keys=admit_keys, args=[*args, last_id - ID_BLOCK + 1, last_id])
    if verdict == "resend":
        # A resend (reconnect): the first ack answers it, the message is not taken twice.
        return json.loads(values[0]) if values[0] else None
    if verdict == "limited":
        raise Rejected(ErrorCode.RATE_LIMITED, retry_after_ms=int(values[0]))
    [message_id] = values
    try:
        return await _message_store(
            hub=hub, sender=sender, message=message, client_id=client_id, dedupe=dedupe, id=message_id
        )
    except BaseException:
        if dedupe:
            await hub.chat_redis.delete(dedupe)
        raise


async def _message_store(
    *, hub: Hub, sender: Sender, message: dict, client_id: str, dedupe: str, id: int
) -> dict:
    """Number, keep and publish the admitted message, with its archiving, counting and its ack for
    resends, in one transaction; returns the ack."""
    room_id, redis = sender.room_id, hub.redis
    kind = "danmaku" if "mode" in message else "chat"
    lane = (
        await lane_take(redis=hub.chat_redis, room_id=room_id, mode=message["mode"], text=message["text"])
        if kind == "danmaku"
        else None
    )
    stream_id, started_ms = await room_live_stream(hub, room_id)
    used = emotes_used(message["text"], await _emote_ids(hub, room_id))
    now = datetime.now(UTC)
    event = chat_events.message_event(
        kind=kind,
        id=id,
        username=sender.username,
        display_name=sender.display_name,
        text=message["text"],
        created_at=now,
        mode=message.get("mode"),
        color=message.get("color"),
        size=message.get("size"),
        lane=lane,
        vpos_ms=max(0, int(now.timestamp() * 1000) - started_ms) if started_ms is not None else 0,
        level=sender.level,
    )
    document = chat_events.message_document(
        event=event, room_id=room_id, stream_id=stream_id, user_id=sender.user_id, client_id=client_id
    )
    ack = chat_events.ack_event(client_id=client_id, id=id)
    async with redis.pipeline(transaction=True) as pipe:
        # On one Redis, the room's writes join the site's in one transaction; on a cluster they go to the
        # room's shard first, and are acknowledged once a replica has them.
        room_pipe = pipe if hub.chat_redis is redis else hub.chat_redis.pipeline(transaction=False)
        publish_call(room_pipe, room_id=room_id, events=[event], ack=ack, ack_key=dedupe)
        if room_pipe is not pipe:
            waited = chat_replica_wait(room_pipe, client=hub.chat_redis, key=keys.chat_recent(room_id))
            results = await room_pipe.execute()
            seq = results[0]
            if waited and results[-1] < 1:
                logger.warning("chat message %s acknowledged before a replica of its shard had it", id)
        pipe.xadd(keys.CHAT_OUTBOX, {"doc": json.dumps(document, ensure_ascii=False)})
        if stream_id is not None:
            comment_counted(pipe, stream_id=stream_id)
        chat_minute_counted(pipe, user_id=sender.user_id)
        if used:
            for emote_id in used:
                pipe.hincrby(keys.chat_emote_uses(room_id), emote_id, 1)
            pipe.sadd(keys.CHAT_EMOTE_USE_ROOMS, room_id)
        results = await pipe.execute()
    if room_pipe is pipe:
        seq = results[0]
    metrics.CHAT_MESSAGES_ACCEPTED.inc()
    return {**ack, "seq": seq}


async def recent_events(*, hub: Hub, room_id: int, after_seq: int) -> list[dict]:
    """The room's recent events after ``after_seq``, oldest first, deletions and pin changes included, so
    a message deleted during the client's gap leaves its page too."""
    events = map(json.loads, await hub.chat_redis.lrange(keys.chat_recent(room_id), 0, -1))
    return [event for event in events if event["seq"] > after_seq]


async def join_events(*, hub: Hub, room_id: int) -> tuple[list[dict], int]:
    """For a join batch: the room's recent chat and danmaku, oldest first (a deleted message is already
    gone from the list, the join batch carries the present pin), and the last seq they reflect."""
    events = [json.loads(raw) for raw in await hub.chat_redis.lrange(keys.chat_recent(room_id), 0, -1)]
    return [e for e in events if e["type"] in MESSAGE_TYPES], max((e["seq"] for e in events), default=0)


async def frame_handle(*, hub: Hub, sender: Sender, text: str | None) -> list[dict]:
    """Everything a client sends comes here; returns the events for the sender alone."""
    if text is None or len(text.encode()) > settings.CHAT_FRAME_MAX_BYTES:
        return [
            chat_events.error_event(code=ErrorCode.INVALID, message=_("Frames are text of at most 2 KB."))
        ]
    try:
        payload = json_loads_limited(text)
    except JsonRefused:
        # Before admission: a refused frame takes no sequence number.
        return [chat_events.error_event(code=ErrorCode.INVALID, message=_("Frames are JSON."))]
    if not isinstance(payload, dict):
        return [chat_events.error_event(code=ErrorCode.INVALID)]
    kind = payload.get("type")
    if kind == "resume":
        after_seq = payload.get("after_seq")
        if not isinstance(after_seq, int) or isinstance(after_seq, bool):
            return [chat_events.error_event(code=ErrorCode.INVALID)]
        return await recent_events(hub=hub, room_id=sender.room_id, after_seq=after_seq)
    if kind not in ("chat", "danmaku"):
        return [chat_events.error_event(code=ErrorCode.INVALID, message=_("Unknown frame type."))]
    try:
        ack = await message_accept(hub=hub, sender=sender, payload=payload)
    except Rejected as rejected:
        client_id = payload.get("client_id") if isinstance(payload.get("client_id"), str) else None
        return [
            chat_events.error_event(
                code=rejected.code,
                message=rejected.message,
                client_id=client_id,
                retry_after_ms=rejected.retry_after_ms,
                level=rejected.level,
            )
        ]
    return [ack] if ack is not None else []
