"""E-mail alerts: followers who opted in get a mail when the streamer goes live or has a new video.

The worker queues one ``EmailAlert`` per reader and event, then mails each reader at most one message per
streamer and ``EMAIL_ALERT_INTERVAL_S``: what happens meanwhile waits and goes out together. A failing
mail server leaves the alerts queued for a later attempt; the hook path only ever enqueues a task.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.selectors import email_reachable
from notifications.models import EmailAlert, Notification
from notifications.services import stream_is_reconnect
from notifications.texts import notification_text
from rooms.models import Follow
from schedule.models import ScheduledStream
from schedule.selectors import reminder_user_ids
from streams.models import Stream
from vod.models import Vod

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "notifications.email-unsubscribe"
# Reader and streamer pairs mailed per run; the beat run a minute later takes the rest.
PAIRS_PER_RUN = 500
# The follow's opt-in that lets each kind of alert through.
OPT_IN = {
    Notification.Kind.LIVE_STARTED: "email_live",
    Notification.Kind.NEW_VOD: "email_vod",
    Notification.Kind.STREAM_REMINDER: "email_live",
}


def _queue(*, kind: str, streamer_id: int, fields: dict, among=None) -> int:
    """One pending alert per opted-in follower who can be mailed (of ``among`` users when given); a
    retried fan-out adds nothing."""
    followers = Follow.objects.filter(
        followed_id=streamer_id, **{OPT_IN[kind]: True}, follower__in=email_reachable()
    )
    if among is not None:
        followers = followers.filter(follower_id__in=among)
    followers = followers.values_list("follower_id", flat=True)
    now = timezone.now()
    alerts = [
        EmailAlert(recipient_id=pk, streamer_id=streamer_id, kind=kind, due_at=now, **fields)
        for pk in followers.iterator(chunk_size=2000)
    ]
    EmailAlert.objects.bulk_create(alerts, batch_size=2000, ignore_conflicts=True)
    return len(alerts)


def email_alerts_queue_live(*, stream_id: int) -> int | None:
    """Queue the go-live alerts of a stream; the streamer's id when some were queued."""
    stream = Stream.objects.select_related("room").filter(pk=stream_id).first()
    if stream is None or stream.status != Stream.Status.LIVE or stream_is_reconnect(stream=stream):
        return None
    streamer_id = stream.room.owner_id
    fields = {"room": stream.room, "stream": stream}
    return (
        streamer_id
        if _queue(kind=Notification.Kind.LIVE_STARTED, streamer_id=streamer_id, fields=fields)
        else None
    )


def email_alerts_queue_vod(*, vod_id: int) -> int | None:
    """Queue the new-video alerts of a ready VOD; the streamer's id when some were queued."""
    vod = Vod.objects.select_related("room").filter(pk=vod_id, status=Vod.Status.READY).first()
    if vod is None:
        return None
    streamer_id = vod.room.owner_id
    fields = {"room": vod.room, "vod": vod}
    return (
        streamer_id
        if _queue(kind=Notification.Kind.NEW_VOD, streamer_id=streamer_id, fields=fields)
        else None
    )


def email_alerts_queue_reminder(*, scheduled: ScheduledStream) -> int | None:
    """Queue the "starts soon" e-mail for those who pressed "Remind me" and opted in to go-live e-mail."""
    streamer_id = scheduled.room.owner_id
    queued = _queue(
        kind=Notification.Kind.STREAM_REMINDER,
        streamer_id=streamer_id,
        fields={"room": scheduled.room, "scheduled": scheduled},
        among=reminder_user_ids(scheduled=scheduled),
    )
    return streamer_id if queued else None


def email_alerts_send_due(*, streamer_id: int | None = None) -> int:
    """Mail every reader whose alerts are due (of one streamer when given); returns the mails sent."""
    due = EmailAlert.objects.filter(status=EmailAlert.Status.PENDING, due_at__lte=timezone.now())
    if streamer_id is not None:
        due = due.filter(streamer_id=streamer_id)
    pairs = list(due.order_by().values_list("recipient_id", "streamer_id").distinct()[:PAIRS_PER_RUN])
    return sum(
        _send_pair(recipient_id=recipient_id, streamer_id=streamer_id) for recipient_id, streamer_id in pairs
    )


@transaction.atomic
def _send_pair(*, recipient_id: int, streamer_id: int) -> bool:
    """One mail with the reader's due alerts of one streamer, unless one went out within the interval."""
    now = timezone.now()
    # The follow's row lock makes workers racing on the same pair take turns: one mail per interval.
    follow = (
        Follow.objects.select_for_update(of=("self",))
        .select_related("follower", "followed")
        .filter(follower_id=recipient_id, followed_id=streamer_id, follower__in=email_reachable())
        .first()
    )
    queued = EmailAlert.objects.filter(
        recipient_id=recipient_id, streamer_id=streamer_id, status=EmailAlert.Status.PENDING
    )
    if follow is None:  # unfollowed, deactivated or unverified since: nothing more to send
        queued.delete()
        return False
    queued.exclude(kind__in=[kind for kind, field in OPT_IN.items() if getattr(follow, field)]).delete()
    alerts = list(queued.filter(due_at__lte=now).select_related("room", "vod", "scheduled"))
    if not alerts:
        return False
    last_sent = EmailAlert.objects.filter(
        recipient_id=recipient_id, streamer_id=streamer_id, sent_at__isnull=False
    ).aggregate(last=Max("sent_at"))["last"]
    interval = timedelta(seconds=settings.EMAIL_ALERT_INTERVAL_S)
    if last_sent is not None and last_sent > now - interval:
        queued.update(due_at=last_sent + interval)
        return False
    try:
        _message(follow=follow, alerts=alerts).send()
    except Exception:
        # Whatever the backend raises (SMTP, an API provider's error), the alerts stay for a later try.
        logger.warning("alert e-mail to user %s failed", recipient_id, exc_info=True)
        _attempt_failed(alerts=alerts, now=now)
        return False
    EmailAlert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(
        status=EmailAlert.Status.SENT, sent_at=now, attempts=alerts[0].attempts + 1
    )
    return True


def _attempt_failed(*, alerts: list[EmailAlert], now) -> None:
    attempts = max(alert.attempts for alert in alerts) + 1
    ids = [alert.pk for alert in alerts]
    if attempts >= settings.EMAIL_ALERT_MAX_ATTEMPTS:
        EmailAlert.objects.filter(pk__in=ids).update(status=EmailAlert.Status.FAILED, attempts=attempts)
        return
    retry_at = now + timedelta(seconds=settings.EMAIL_ALERT_RETRY_BASE_S * 2 ** (attempts - 1))
    EmailAlert.objects.filter(pk__in=ids).update(attempts=attempts, due_at=retry_at)


@dataclass(frozen=True)
class _Item:
    text: str
    url: str


def _item(alert: EmailAlert, *, streamer) -> _Item:
    if alert.kind == Notification.Kind.LIVE_STARTED:
        text = _("%(name)s went live: %(title)s") % {"name": streamer.shown_name, "title": alert.room.title}
        return _Item(text, settings.SITE_URL + reverse("room_detail", args=[alert.room_id]))
    if alert.kind == Notification.Kind.STREAM_REMINDER:
        text = _("%(name)s starts streaming at %(time)s UTC: %(title)s") % {
            "name": streamer.shown_name,
            "time": alert.scheduled.starts_at.strftime("%H:%M"),
            "title": alert.scheduled.title,
        }
        return _Item(text, settings.SITE_URL + reverse("room_detail", args=[alert.room_id]))
    text = notification_text(kind=alert.kind, actor=streamer, room=alert.room, vod=alert.vod)
    return _Item(text, settings.SITE_URL + reverse("vod_detail", args=[alert.vod_id]))


def _message(*, follow: Follow, alerts: list[EmailAlert]) -> EmailMultiAlternatives:
    reader, streamer = follow.follower, follow.followed
    unsubscribe_url = settings.SITE_URL + reverse(
        "email_unsubscribe", args=[email_unsubscribe_token(recipient_id=reader.pk, streamer_id=streamer.pk)]
    )
    with translation.override(reader.language or settings.LANGUAGE_CODE):
        items = [_item(alert, streamer=streamer) for alert in alerts]
        subject = (
            items[0].text if len(items) == 1 else _("News from %(name)s") % {"name": streamer.shown_name}
        )
        context = {
            "reader": reader,
            "streamer": streamer,
            "items": items,
            "unsubscribe_url": unsubscribe_url,
            "following_url": settings.SITE_URL + reverse("following"),
        }
        body = render_to_string("notifications/email_alert.txt", context)
        html = render_to_string("notifications/email_alert.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        to=[reader.email],
        # RFC 2369 and RFC 8058: mail clients offer an unsubscribe button that POSTs to the link.
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def email_unsubscribe_token(*, recipient_id: int, streamer_id: int) -> str:
    """The signed part of an unsubscribe link: it stands in for a log-in, for this follow's mail only."""
    return signing.dumps({"r": recipient_id, "s": streamer_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def email_unsubscribe_follow(token: str) -> Follow | None:
    """The follow an unsubscribe link is about (None when no longer following); bad links are refused."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        recipient_id, streamer_id = int(data["r"]), int(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(_("This unsubscribe link is not valid."), code="invalid") from None
    return (
        Follow.objects.select_related("followed")
        .filter(follower_id=recipient_id, followed_id=streamer_id)
        .first()
    )


@transaction.atomic
def email_unsubscribe(*, token: str) -> Follow | None:
    """Turn off every e-mail of the follow the link names, and drop what was waiting to be sent."""
    follow = email_unsubscribe_follow(token)
    if follow is None:
        return None
    Follow.objects.filter(pk=follow.pk).update(email_live=False, email_vod=False)
    EmailAlert.objects.filter(
        recipient_id=follow.follower_id, streamer_id=follow.followed_id, status=EmailAlert.Status.PENDING
    ).delete()
    return follow
