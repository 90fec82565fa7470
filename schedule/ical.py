"""A streamer's schedule as an iCalendar feed (RFC 5545), written out by hand: a few fixed properties."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from accounts.models import User
from schedule.models import ScheduledStream

# Calendars need an end; a stream's real length is unknown ahead.
ASSUMED_DURATION = timedelta(hours=2)
LINE_OCTETS = 75


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space, never inside a character."""
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        limit = LINE_OCTETS if not parts else LINE_OCTETS - 1
        if len(current) + len(encoded) > limit:
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def schedule_calendar(*, owner: User, entries: Iterable[ScheduledStream], now: datetime) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "streamlite"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//StreamLite//Schedule//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(owner.shown_name)} · StreamLite",
    ]
    for entry in entries:
        room_url = settings.SITE_URL + reverse("room_detail", args=[entry.room_id])
        lines += [
            "BEGIN:VEVENT",
            f"UID:scheduled-stream-{entry.pk}@{host}",
            f"DTSTAMP:{_utc(now)}",
            f"LAST-MODIFIED:{_utc(entry.updated_at)}",
            f"DTSTART:{_utc(entry.starts_at)}",
            f"DTEND:{_utc(entry.starts_at + ASSUMED_DURATION)}",
            f"SUMMARY:{_text(entry.title)}",
            f"DESCRIPTION:{_text(f'{entry.room.title}: {room_url}')}",
            f"URL:{room_url}",
        ]
        if entry.category is not None:
            lines.append(f"CATEGORIES:{_text(entry.category.name)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
