import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from urllib3.exceptions import HTTPError, TimeoutError

from accounts.models import User
from clips.models import Clip
from notifications.services import notification_system_send
from rooms.models import Follow, Room
from streamlite.outbound import OutboundRefused, outbound_post, outbound_target
from streams.models import Stream
from vod.models import Vod
from webhooks import selectors
from webhooks.models import TEST_EVENT, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-StreamLite-Signature"
# Event ids are derived from the event and its object: a replayed signal or retried task is the same event.
EVENT_ID_NAMESPACE = uuid.UUID("5b0c7a52-6a0e-4b8e-9a57-1f4d3c2b9e10")
ERROR_MAX_LENGTH = Delivery._meta.get_field("error").max_length


def endpoint_url_check(*, url: str) -> None:
    """Refuse a URL the server may not call (scheme, private or local address) as bad input."""
    try:
        outbound_target(url)
    except OutboundRefused as exc:
        raise ValidationError({"url": [ValidationError(str(exc), code="url_refused")]}) from exc


@transaction.atomic
def endpoint_create(
    *, owner: User, url: str, events: list[str], room: Room | None = None, site_wide: bool = False
) -> Endpoint:
    if site_wide and not owner.is_staff:
        raise ValidationError(
            {
                "site_wide": [
                    ValidationError(_("Only staff may receive the whole site's events."), code="staff_only")
                ]
            }
        )
    if site_wide and room is not None:
        raise ValidationError(
            {"room": [ValidationError(_("A site-wide endpoint has no room."), code="invalid")]}
        )
    if room is not None and room.owner_id != owner.pk:
        raise ValidationError(
            {"room": [ValidationError(_("You can only choose your own room."), code="invalid")]}
        )
    endpoint_url_check(url=url)
    return Endpoint.objects.create(
        owner=owner, room=room, site_wide=site_wide, url=url, events=sorted(set(events))
    )


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def signature(*, secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload_body(payload: dict) -> bytes:
    """The exact bytes sent and signed; the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _person(user: User) -> dict:
    return {"id": user.pk, "username": user.username, "display_name": user.shown_name}


def _room(room: Room) -> dict:
    return {"id": room.pk, "title": room.title, "path": f"/rooms/{room.pk}/"}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _event_subject(*, event: str, object_id: int) -> tuple[dict, int, int | None] | None:
    """(data, owner id, room id) of the event's object, or None when it is gone."""
    if event in (Event.STREAM_STARTED, Event.STREAM_ENDED):
        stream = Stream.objects.select_related("room__owner").filter(pk=object_id).first()
        if stream is None:
            return None
        data = {
            "stream": {
                "id": stream.pk,
                "started_at": _iso(stream.started_at),
                "ended_at": _iso(stream.ended_at),
                "end_reason": stream.end_reason,
            },
            "room": _room(stream.room),
            "streamer": _person(stream.room.owner),
        }
        return data, stream.room.owner_id, stream.room_id
    if event == Event.VOD_READY:
        vod = Vod.objects.select_related("room__owner").filter(pk=object_id).first()
        if vod is None:
            return None
        data = {
            "vod": {
                "id": vod.pk,
                "title": vod.title,
                "duration_s": vod.duration_s,
                "path": f"/vods/{vod.pk}/",
            },
            "room": _room(vod.room),
            "streamer": _person(vod.room.owner),
        }
        return data, vod.room.owner_id, vod.room_id
    if event == Event.CLIP_CREATED:
        clip = Clip.objects.select_related("room__owner", "created_by").filter(pk=object_id).first()
        if clip is None:
            return None
        data = {
            "clip": {
                "slug": clip.slug,
                "title": clip.title,
                "duration_s": clip.duration_s,
                "path": f"/clips/{clip.slug}/",
            },
            "room": _room(clip.room),
            "streamer": _person(clip.room.owner),
            "created_by": _person(clip.created_by) if clip.created_by else None,
        }
        return data, clip.room.owner_id, clip.room_id
    if event == Event.FOLLOW_CREATED:
        follow = Follow.objects.select_related("follower", "followed").filter(pk=object_id).first()
        if follow is None:
            return None
        return (
            {"follower": _person(follow.follower), "streamer": _person(follow.followed)},
            follow.followed_id,
            None,
        )
    raise ValueError(f"unknown webhook event {event!r}")


def _payload(*, event_id: uuid.UUID, event: str, data: dict) -> dict:
    return {"id": str(event_id), "event": event, "created_at": timezone.now().isoformat(), "data": data}


def _deliver(delivery_id: int) -> None:
    from webhooks.tasks import webhook_deliver  # the tasks module imports this one

    webhook_deliver.delay(delivery_id=delivery_id)


def _deliver_on_commit(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        transaction.on_commit(partial(_deliver, delivery_id), robust=True)


@transaction.atomic
def event_deliveries_create(*, event: str, object_id: int) -> int:
    """Record one delivery of the event per endpoint it reaches and queue them; returns how many are new."""
    subject = _event_subject(event=event, object_id=object_id)
    if subject is None:
        return 0
    data, owner_id, room_id = subject
    return _deliveries_create(event=event, object_id=object_id, data=data, owner_id=owner_id, room_id=room_id)


@transaction.atomic
def chat_message_deliveries_create(*, messages: list[dict]) -> int:
    """Deliver archived chat messages (chat.signals.chat_messages_archived) to the endpoints that opted in."""
    rooms = Room.objects.in_bulk({message["room"] for message in messages})
    created = 0
    for message in messages:
        room = rooms.get(message["room"])
        if room is None:
            continue
        data = {
            "message": {key: message[key] for key in ("id", "text", "kind", "stream", "created_at")},
            "user": message["user"],
            "room": _room(room),
        }
        created += _deliveries_create(
            event=Event.CHAT_MESSAGE,
            object_id=message["id"],
            data=data,
            owner_id=room.owner_id,
            room_id=room.pk,
        )
    return created


def _deliveries_create(*, event: str, object_id: int, data: dict, owner_id: int, room_id: int | None) -> int:
    endpoints = selectors.endpoints_for_event(event=event, owner_id=owner_id, room_id=room_id)
    if not endpoints:
        return 0
    event_id = uuid.uuid5(EVENT_ID_NAMESPACE, f"{event}:{object_id}")
    payload = _payload(event_id=event_id, event=event, data=data)
    Delivery.objects.bulk_create(
        [
            Delivery(endpoint=endpoint, event_id=event_id, event=event, payload=payload)
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    # A retried task finds its rows already there: only the ones still pending are (re)queued.
    pending = list(
        Delivery.objects.filter(event_id=event_id, status=Delivery.Status.PENDING, attempts=0).values_list(
            "pk", flat=True
        )
    )
    _deliver_on_commit(pending)
    return len(pending)


@transaction.atomic
def webhook_test_send(*, endpoint: Endpoint) -> Delivery:
    """Queue a test event to the endpoint, even a disabled one: a success turns it back on."""
    event_id = uuid.uuid4()
    data = {"message": "This is a test delivery from StreamLite.", "endpoint": endpoint.pk}
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event=TEST_EVENT,
        payload=_payload(event_id=event_id, event=TEST_EVENT, data=data),
    )
    _deliver_on_commit([delivery.pk])
    return delivery


def retry_delay_s(*, attempts: int) -> int:
    """Exponential backoff: base, 2×base, 4×base ... after the 1st, 2nd, 3rd failed attempt."""
    return settings.WEBHOOK_RETRY_BASE_S * 2 ** max(attempts - 1, 0)


def _post(*, endpoint: Endpoint, delivery: Delivery) -> tuple[int | None, str]:
    """(status code, error) of one attempt; never raises for what the receiver or network does."""
    body = payload_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "StreamLite-Webhooks/1",
        "X-StreamLite-Event": delivery.event,
        "X-StreamLite-Delivery": str(delivery.event_id),
        SIGNATURE_HEADER: signature(secret=endpoint.secret, body=body),
    }
    try:
        response = outbound_post(
            endpoint.url, body=body, headers=headers, timeout_s=settings.WEBHOOK_TIMEOUT_S
        )
    except OutboundRefused as exc:
        return None, str(exc)
    except TimeoutError:
        return None, "timed out"
    except HTTPError as exc:
        return None, f"connection failed: {type(exc).__name__}"
    if 200 <= response.status < 300:
        return response.status, ""
    if 300 <= response.status < 400:
        return response.status, f"HTTP {response.status} (redirects are not followed)"
    return response.status, f"HTTP {response.status}"


def delivery_attempt(*, delivery_id: int) -> int | None:
    """Try the delivery once; returns the seconds to wait before trying again, or None when done."""
    delivery = Delivery.objects.select_related("endpoint__owner").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return None
    endpoint = delivery.endpoint
    is_test = delivery.event == TEST_EVENT
    if not endpoint.active and not is_test:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, error="endpoint disabled"
        )
        return None
    # The network call happens outside any transaction: no row stays locked while a receiver is slow.
    status_code, error = _post(endpoint=endpoint, delivery=delivery)
    attempts = delivery.attempts + 1
    if not error:
        _delivery_succeeded(delivery=delivery, attempts=attempts, status_code=status_code, reactivate=is_test)
        return None
    logger.info(
        "webhook delivery %s to endpoint %s failed (attempt %s): %s",
        delivery.pk,
        endpoint.pk,
        attempts,
        error,
    )
    final = is_test or attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        status_code=status_code,
        error=error[:ERROR_MAX_LENGTH],
        status=Delivery.Status.FAILED if final else Delivery.Status.PENDING,
    )
    if final:
        if not is_test:
            _endpoint_failure_count(endpoint=endpoint)
        return None
    return retry_delay_s(attempts=attempts)


@transaction.atomic
def _delivery_succeeded(
    *, delivery: Delivery, attempts: int, status_code: int | None, reactivate: bool
) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        status_code=status_code,
        error="",
        status=Delivery.Status.DELIVERED,
        delivered_at=timezone.now(),
    )
    changes = {"consecutive_failures": 0}
    if reactivate:
        changes.update(active=True, disabled_reason="")
    Endpoint.objects.filter(pk=delivery.endpoint_id).update(**changes)


@transaction.atomic
def _endpoint_failure_count(*, endpoint: Endpoint) -> None:
    """Count a delivery that failed for good; enough in a row disable the endpoint and tell its owner."""
    Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    locked = Endpoint.objects.select_for_update().select_related("owner").get(pk=endpoint.pk)
    if not locked.active or locked.consecutive_failures < settings.WEBHOOK_DISABLE_AFTER:
        return
    owner = locked.owner
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        reason = _("Disabled after %(count)d failed deliveries in a row.") % {
            "count": locked.consecutive_failures
        }
        message = _("Your webhook to %(url)s was disabled after repeated failed deliveries.") % {
            "url": locked.url
        }
    locked.active = False
    locked.disabled_reason = reason
    locked.save(update_fields=["active", "disabled_reason", "updated_at"])
    logger.warning("webhook endpoint %s disabled after %s failures", locked.pk, locked.consecutive_failures)
    # A named callable: Django's robust on_commit names the callback when it logs a failure.
    transaction.on_commit(lambda: notification_system_send(user_id=owner.pk, message=message), robust=True)
