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
from chat.hub import DEDUPE_TTL_S, MESSAGE_TYPES, PUBLISH_LUA, Hub, for_cluster, open_json
from chat.lanes import LANE_LUA, lane_args
from chat.levels import CHAT_MINUTE_LUA, CHAT_MINUTE_TTL_S, chat_minute_keys
from chat.models import EMOTE_NAME_PATTERN
from chat.presence import COMMENT_COUNT_LUA, comment_count_keys, room_live_stream
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
# A message is taken in one round trip (each await of the accept path waits behind whatever the event loop
# is doing, fan-outs to a thousand sockets included): a resend is answered with its first ack, else the
# rate limit is charged, the message given its id (and a danmaku its lane), then numbered, kept and
# published (chat.hub.room_publish), its ack kept for resends; on one Redis the site's writes follow in
# the same script (site_write), on a cluster they go to their own node once the room's shard has taken it.
# KEYS (the room's): dedupe, rate bucket, id block {next, last}, seq, recent list, frames channel, lanes;
# then on one Redis the site counter of ids and SITE_KEYS. ARGV: dedupe TTL s (0: no client id), the rate
# limit's three, recent list length, lane busy ms (0: chat) and lanes, event type, the event's and the
# ack's JSON without id (nor lane) and closing brace, id block size, a fresh block (first, last) or
# ("", ""); then on one Redis the site's arguments (SITE_ARGS).
# Returns {"resend", first ack} | {"ids"}: lease a block and call again (cluster) | {"limited", retry ms} |
# {"ok", id, seq, lane or -1}.
_ACCEPT_LUA = """
local dedupe = ARGV[1] ~= '0'
if dedupe then
  local original = redis.call('GET', KEYS[1])
  if original then return {'resend', original} end
end
local site = #KEYS > 7
local block = redis.call('HMGET', KEYS[3], 'next', 'last')
local next_id, last_id = tonumber(block[1]) or 1, tonumber(block[2]) or 0
if next_id > last_id then
  if site then
    last_id = redis.call('INCRBY', KEYS[8], ARGV[11])
    next_id = last_id - tonumber(ARGV[11]) + 1
  elseif ARGV[12] == '' then
    return {'ids'}
  else
    next_id, last_id = tonumber(ARGV[12]), tonumber(ARGV[13])
  end
  redis.call('HSET', KEYS[3], 'next', next_id, 'last', last_id)
end
local wait = rate_limit_take(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
if wait > 0 then return {'limited', wait} end
redis.call('HSET', KEYS[3], 'next', next_id + 1)
local event, lane = ARGV[9] .. ',"id":' .. next_id, false
if ARGV[6] ~= '0' then
  lane = lane_take(KEYS[7], tonumber(ARGV[6]), tonumber(ARGV[7]))
  event = event .. ',"lane":' .. lane
end
local room_keys, ack = {KEYS[4], KEYS[5], KEYS[6]}, ''
if dedupe then room_keys[4], ack = KEYS[1], ARGV[10] .. ',"id":' .. next_id end
local seq = room_publish(room_keys, ARGV[5], ARGV[1], ack, {ARGV[8], '1', event})
if site then site_write({unpack(KEYS, 9)}, {unpack(ARGV, 14)}, next_id, lane) end
return {'ok', next_id, seq, lane or -1}
"""
# The site's writes of a message taken: the outbox for the archive (its document with id and lane added),
# the live stream's comment count, the user's chatting minute, the room's emote uses.
# SITE_KEYS: outbox, comment count, streams counted, chatting-minute marker, chatting minutes, emote uses,
# rooms with emote uses. SITE_ARGS: the document's JSON without _id (nor lane) and closing brace, stream
# id or "", user id, chatting-minute TTL s, room id, the ids of the emotes used.
_SITE_LUA = """
local function site_write(k, a, id, lane)
  local doc = a[1] .. ',"_id":' .. id
  if lane then doc = doc .. ',"lane":' .. lane end
  redis.call('XADD', k[1], '*', 'doc', doc .. '}')
  if a[2] ~= '' then comment_count(k[2], k[3], a[2]) end
  chat_minute_count(k[4], k[5], a[3], a[4])
  if #a > 5 then
    for i = 6, #a do redis.call('HINCRBY', k[6], a[i], 1) end
    redis.call('SADD', k[7], a[5])
  end
end
"""
_SITE_PARTS = COMMENT_COUNT_LUA + CHAT_MINUTE_LUA + _SITE_LUA
# One Redis: everything in one script. A cluster: the room's part on its shard, then the site's.
ACCEPT_SCRIPT = RATE_LIMIT_LUA + LANE_LUA + PUBLISH_LUA + _SITE_PARTS + _ACCEPT_LUA
SHARDED_ACCEPT_SCRIPT = for_cluster(ACCEPT_SCRIPT)
# KEYS: SITE_KEYS. ARGV: the id, the lane or "", then SITE_ARGS.
SITE_SCRIPT = (
    _SITE_PARTS + "site_write(KEYS, {unpack(ARGV, 3)}, ARGV[1], ARGV[2] ~= '' and ARGV[2])\nreturn 0"
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


async def message_accept(*, hub: Hub, sender: Sender, payload: dict) -> dict:
    """Check, number, store and queue one chat or danmaku message; returns the sender's ack (a resend's
    is its first one)."""
    client_id = payload.get("client_id") or ""
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX:
        raise Rejected(ErrorCode.INVALID)
    if sender.user_id is None:
        raise Rejected(ErrorCode.AUTH_REQUIRED)
    message = message_validate(payload)
    room_id = sender.room_id
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
    return await _message_take(
        hub=hub, sender=sender, message=message, client_id=client_id, dedupe=dedupe, cooldown_ms=cooldown_ms
    )


async def _message_take(
    *, hub: Hub, sender: Sender, message: dict, client_id: str, dedupe: str, cooldown_ms: int
) -> dict:
    """Admit, number, keep and publish the message, with its archiving and counting, in one round trip on
    one Redis (two on a cluster: the room's shard, then the site's node); returns the ack."""
    room_id = sender.room_id
    kind = "danmaku" if "mode" in message else "chat"
    stream_id, started_ms = await room_live_stream(hub, room_id)
    used = emotes_used(message["text"], await _emote_ids(hub, room_id))
    now = datetime.now(UTC)
    event = chat_events.message_event(
        kind=kind,
        id=0,
        username=sender.username,
        display_name=sender.display_name,
        text=message["text"],
        created_at=now,
        mode=message.get("mode"),
        color=message.get("color"),
        size=message.get("size"),
        vpos_ms=max(0, int(now.timestamp() * 1000) - started_ms) if started_ms is not None else 0,
        level=sender.level,
    )
    document = chat_events.message_document(
        event=event, room_id=room_id, stream_id=stream_id, user_id=sender.user_id, client_id=client_id
    )
    # The script adds the id (and a danmaku's lane) to each.
    del event["id"], document["_id"]
    if kind == "danmaku":
        del event["lane"], document["lane"]
    ack = chat_events.ack_event(client_id=client_id, id=0)
    del ack["id"]
    lane = lane_args(mode=message["mode"], text=message["text"]) if kind == "danmaku" else [0, 0]
    room_keys = [
        dedupe or keys.chat_dedupe(room_id, sender.user_id, ""),
        keys.chat_rate(room_id, sender.user_id),
        keys.chat_ids(room_id),
        keys.chat_seq(room_id),
        keys.chat_recent(room_id),
        keys.chat_frames(room_id),
        keys.chat_lanes(room_id, message.get("mode", "scroll")),
    ]
    room_args = [
        DEDUPE_TTL_S if dedupe else 0,
        *rate_limit_args(cooldown_ms=cooldown_ms),
        settings.CHAT_RECENT_COUNT,
        *lane,
        kind,
        open_json(event),
        open_json(ack),
        ID_BLOCK,
    ]
    site_keys = [
        keys.CHAT_OUTBOX,
        *comment_count_keys(stream_id or 0),
        *chat_minute_keys(sender.user_id),
        keys.chat_emote_uses(room_id),
        keys.CHAT_EMOTE_USE_ROOMS,
    ]
    site_args = [
        open_json(document),
        stream_id if stream_id is not None else "",
        sender.user_id,
        CHAT_MINUTE_TTL_S,
        room_id,
        *sorted(used),
    ]
    if hub.chat_redis is hub.redis:
        verdict, *values = await hub.script(ACCEPT_SCRIPT)(
            keys=[*room_keys, keys.CHAT_NEXT_ID, *site_keys], args=[*room_args, "", "", *site_args]
        )
    else:
        verdict, *values = await _room_take(hub, room_keys=room_keys, room_args=[*room_args, "", ""])
        if verdict == "ids":
            last_id = await hub.redis.incrby(keys.CHAT_NEXT_ID, ID_BLOCK)
            block = [last_id - ID_BLOCK + 1, last_id]
            verdict, *values = await _room_take(hub, room_keys=room_keys, room_args=[*room_args, *block])
        if verdict == "ok":
            id, lane_taken = values[0], values[2]
            try:
                await hub.script(SITE_SCRIPT, site=True)(
                    keys=site_keys, args=[id, lane_taken if lane_taken >= 0 else "", *site_args]
                )
            except BaseException:
                # Published but neither archived nor counted: a resend is taken again rather than lost.
                if dedupe:
                    await hub.chat_redis.delete(dedupe)
                raise
    if verdict == "resend":
        # A resend (reconnect): the first ack answers it, the message is not taken twice.
        return json.loads(values[0])
    if verdict == "limited":
        raise Rejected(ErrorCode.RATE_LIMITED, retry_after_ms=int(values[0]))
    id, seq = int(values[0]), int(values[1])
    metrics.CHAT_MESSAGES_ACCEPTED.inc()
    return chat_events.ack_event(client_id=client_id, id=id, seq=seq)


async def _room_take(hub: Hub, *, room_keys: list[str], room_args: list) -> list:
    """The room's part of taking a message on a cluster, acknowledged once a replica of its shard has it."""
    async with hub.chat_redis.pipeline(transaction=False) as pipe:
        pipe.eval(SHARDED_ACCEPT_SCRIPT, len(room_keys), *room_keys, *room_args)
        waited = chat_replica_wait(pipe, client=hub.chat_redis, key=room_keys[4])
        results = await pipe.execute()
    if waited and results[0][0] == "ok" and results[-1] < 1:
        logger.warning("chat message %s acknowledged before a replica of its shard had it", results[0][1])
    return results[0]


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
        return [await message_accept(hub=hub, sender=sender, payload=payload)]
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
