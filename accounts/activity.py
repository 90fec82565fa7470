"""The security activity log (seed 003's user_activities): one function writes it."""

import logging

from django.http import HttpRequest

from accounts.models import ActivityLog, User

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def activity_record(
    *, action: str, user: User | None = None, request: HttpRequest | None = None, **detail
) -> ActivityLog:
    """Store one security-relevant event. ``detail`` must never carry keys, tokens or passwords."""
    entry = ActivityLog.objects.create(
        action=action,
        user=user if user is not None and user.pk else None,
        ip_address=client_ip(request),
        detail=detail,
    )
    logger.info("activity %s user=%s", action, user.pk if user is not None else None)
    return entry
