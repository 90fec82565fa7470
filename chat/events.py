"""The websocket event dicts of chat and danmaku (chat-contract.md, "Events"), built only here."""

import json
from datetime import datetime

from django.utils.translation import gettext as _


class ErrorCode:
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"
    TOO_LONG = "too_long"
    COMMENTS_OFF = "comments_off"
    INVALID = "invalid"
    AUTH_REQUIRED = "auth_required"
    LEVEL_REQUIRED = "level_required"


def message_event(
    *,
    kind: str,
    id: int,
    username: str,
    display_name: str,
    text: str,
    created_at: datetime,
    mode: str | None = None,
    color: str | None = None,
    size: str | None = None,
    lane: int | None = None,
    vpos_ms: int | None = None,
    level: int | None = None,
) -> dict:
    user = {"username": username, "display_name": display_name}
    if level is not None:
        user["level"] = level
    # No seq: the room's publishing gives it (chat.hub.PUBLISH_SCRIPT).
    event = {
        "type": kind,
        "id": id,
        "user": user,
        "text": text,
        "created_at": created_at.isoformat(),
    }
    if kind == "danmaku":
        event.update(mode=mode, color=color, size=size, lane=lane, vpos_ms=vpos_ms)
    return event


def message_document(
    *, event: dict, room_id: int, stream_id: int | None, user_id: int, client_id: str
) -> dict:
    """The MongoDB document of an accepted message (JSON-ready: created_at stays an ISO string here)."""
    danmaku = event["type"] == "danmaku"
    return {
        "_id": event["id"],
        "room": room_id,
        "stream": stream_id,
        "user": user_id,
        "username": event["user"]["username"],
        "display_name": event["user"]["display_name"],
        "level": event["user"].get("level"),
        "text": event["text"],
        "kind": event["type"],
        "mode": event["mode"] if danmaku else None,
        "color": event["color"] if danmaku else None,
        "size": event["size"] if danmaku else None,
        "lane": event["lane"] if danmaku else None,
        "vpos_ms": event["vpos_ms"] if danmaku else None,
        "created_at": event["created_at"],
        "client_id": client_id,
        "deleted": False,
    }


def ack_event(*, client_id: str, id: int, seq: int | None = None) -> dict:
    ack = {"type": "ack", "client_id": client_id, "id": id}
    if seq is not None:
        ack["seq"] = seq
    return ack


_ERROR_MESSAGES = {
    ErrorCode.RATE_LIMITED: lambda: _("You are sending messages too fast."),
    ErrorCode.BANNED: lambda: _("You are banned from chatting in this room."),
    ErrorCode.TOO_LONG: lambda: _("Messages are at most 200 characters long."),
    ErrorCode.COMMENTS_OFF: lambda: _("Comments are turned off in this room."),
    ErrorCode.INVALID: lambda: _("This message is not valid."),
    ErrorCode.AUTH_REQUIRED: lambda: _("Log in to chat."),
    ErrorCode.LEVEL_REQUIRED: lambda: _("Your level is too low for this in this room."),
}


def error_event(
    *,
    code: str,
    message: str | None = None,
    client_id: str | None = None,
    retry_after_ms: int | None = None,
    level: int | None = None,
) -> dict:
    event = {"type": "error", "code": code, "message": message or _ERROR_MESSAGES[code]()}
    if client_id:
        event["client_id"] = client_id
    if retry_after_ms is not None:
        event["retry_after_ms"] = retry_after_ms
    if level is not None:
        event["level"] = level
    return event


def viewers_event(*, count: int) -> dict:
    return {"type": "viewers", "count": count}


def room_state_event(*, status: str) -> dict:
    return {"type": "room_state", "status": status}


def delete_event(*, id: int) -> dict:
    return {"type": "delete", "id": id}


def shown_message(event: dict) -> dict:
    """What a pin or highlight shows of a chat or danmaku event: who said what, and when."""
    return {
        "id": event["id"],
        "user": event["user"],
        "text": event["text"],
        "kind": event["type"],
        "created_at": event["created_at"],
    }


def pin_event(*, message: dict) -> dict:
    return {"type": "pin", "message": message}


def unpin_event() -> dict:
    return {"type": "unpin"}


def highlight_event(*, message: dict) -> dict:
    return {"type": "highlight", "message": message}


def emotes_event(*, emotes: list[dict]) -> dict:
    """The emotes ``:name:`` stands for in the room: [{id, name, url, scope ("site"|"room")}]."""
    return {"type": "emotes", "emotes": emotes}


def batch_frame(events: list[dict]) -> str:
    return json.dumps({"type": "batch", "events": events}, ensure_ascii=False, separators=(",", ":"))
