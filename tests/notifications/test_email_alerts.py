"""E-mail alerts, read from a real SMTP server on loopback (aiosmtpd)."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.services import site_settings_get
from notifications import emails
from notifications.models import EmailAlert
from notifications.tasks import email_alerts_send
from rooms.models import Follow
from streams.models import Stream
from tests.factories import FollowFactory, RoomFactory, UserFactory, VodFactory
from tests.notifications.conftest import hook
from vod.signals import vod_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return RoomFactory(owner=UserFactory(display_name="Ann Streams"), title="Speedrun night")


@pytest.fixture
def subscriber(room):
    return FollowFactory(followed=room.owner, email_live=True, email_vod=True).follower


def go_live(client, room, capture, clientid="7"):
    with capture(execute=True):
        assert hook(client, "publish", room, clientid=clientid).status_code == 302
    return Stream.objects.get(room=room, status=Stream.Status.LIVE)


def vod_of(room):
    vod = VodFactory(room=room, title="Best of the night", status="ready")
    with transaction.atomic():
        vod_ready.send(sender=type(vod), vod_id=vod.pk)
    return vod


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def unsubscribe_link(message) -> str:
    return re.search(r"<(http://\S+/notifications/unsubscribe/\S+/)>", message["List-Unsubscribe"]).group(1)


def test_going_live_mails_only_followers_who_opted_in_with_unsubscribe_headers(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    FollowFactory(followed=room.owner)  # bell only: no e-mail
    FollowFactory(followed=room.owner, email_vod=True)  # videos only
    go_live(client, room, django_capture_on_commit_callbacks)

    (message,) = smtp_inbox.wait_for(1)
    assert message["To"] == subscriber.email
    assert message["Subject"] == "Ann Streams went live: Speedrun night"
    assert f"/rooms/{room.pk}/" in text_of(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_link(message) in text_of(message)
    assert message.get_body(("html",)) is not None


def test_a_replayed_hook_and_a_rerun_task_send_no_second_mail(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    stream = go_live(client, room, django_capture_on_commit_callbacks)
    go_live(client, room, django_capture_on_commit_callbacks)  # nginx retrying the same publish
    emails.email_alerts_queue_live(stream_id=stream.pk)
    email_alerts_send.delay()
    assert len(smtp_inbox.wait_for(1)) == 1
    assert EmailAlert.objects.get().status == EmailAlert.Status.SENT


def test_the_mail_is_in_the_readers_language(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    subscriber.language = "vi"
    subscriber.save(update_fields=["language"])
    go_live(client, room, django_capture_on_commit_callbacks)
    (message,) = smtp_inbox.wait_for(1)
    assert message["Subject"] != "Ann Streams went live: Speedrun night"
    assert "Ann Streams" in message["Subject"] and "Speedrun night" in message["Subject"]
    assert "Hello" not in text_of(message)


def test_one_mail_per_streamer_per_hour_the_rest_waits_and_goes_out_together(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, django_capture_on_commit_callbacks)
    assert len(smtp_inbox.wait_for(1)) == 1
    vod = vod_of(room)
    other = vod_of(room)
    email_alerts_send.delay()
    assert len(smtp_inbox.messages) == 1  # within the hour: held back
    waiting = EmailAlert.objects.filter(status=EmailAlert.Status.PENDING)
    assert waiting.count() == 2 and all(a.due_at > timezone.now() for a in waiting)

    # An hour later the two videos go out in one mail.
    EmailAlert.objects.filter(status=EmailAlert.Status.SENT).update(
        sent_at=timezone.now() - timedelta(hours=1)
    )
    EmailAlert.objects.filter(status=EmailAlert.Status.PENDING).update(due_at=timezone.now())
    email_alerts_send.delay()
    assert len(smtp_inbox.wait_for(2)) == 2
    body = text_of(smtp_inbox.messages[1])
    assert f"/vods/{vod.pk}/" in body and f"/vods/{other.pk}/" in body
    assert smtp_inbox.messages[1]["Subject"] == "News from Ann Streams"


def test_a_failing_mail_server_keeps_the_alert_for_a_later_attempt(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    smtp_inbox.refuse = True
    go_live(client, room, django_capture_on_commit_callbacks)  # the hook path does not fail
    alert = EmailAlert.objects.get()
    assert (alert.status, alert.attempts) == (EmailAlert.Status.PENDING, 1)
    assert alert.due_at > timezone.now()

    smtp_inbox.refuse = False
    EmailAlert.objects.update(due_at=timezone.now())
    email_alerts_send.delay()
    assert len(smtp_inbox.wait_for(1)) == 1
    assert EmailAlert.objects.get().status == EmailAlert.Status.SENT


def test_alerts_give_up_after_the_last_attempt(room, subscriber, smtp_inbox, settings, celery_eager):
    settings.EMAIL_ALERT_MAX_ATTEMPTS = 2
    smtp_inbox.refuse = True
    vod_of(room)
    EmailAlert.objects.update(due_at=timezone.now())
    email_alerts_send.delay()
    alert = EmailAlert.objects.get()
    assert (alert.status, alert.attempts) == (EmailAlert.Status.FAILED, 2)


def test_one_click_unsubscribe_works_without_logging_in(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    go_live(client, room, django_capture_on_commit_callbacks)
    link = unsubscribe_link(smtp_inbox.wait_for(1)[0])
    path = link.split("//", 1)[1].split("/", 1)[1]
    anonymous = Client(enforce_csrf_checks=True)

    # Opening the link only asks (mail scanners open links); the mail client's one-click POST does it.
    page = anonymous.get(f"/{path}")
    assert page.status_code == 200 and b"data-unsubscribe-form" in page.content
    assert Follow.objects.get(follower=subscriber).email_live is True
    vod_of(room)  # waiting for the interval: dropped by the unsubscribe
    response = anonymous.post(
        f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and b"data-unsubscribed" in response.content
    follow = Follow.objects.get(follower=subscriber)
    assert (follow.email_live, follow.email_vod, follow.notify) == (False, False, True)
    assert not EmailAlert.objects.filter(status=EmailAlert.Status.PENDING).exists()


@pytest.mark.parametrize("token", ["nonsense", "eyJyIjoxLCJzIjoyfQ:1abc:forged"])
def test_a_forged_unsubscribe_link_is_refused(client, subscriber, token):
    response = client.post(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 400 and b"data-unsubscribe-invalid" in response.content
    assert Follow.objects.get(follower=subscriber).email_live is True


def test_unconfirmed_addresses_get_no_alerts_when_the_site_requires_confirmation(
    client, room, subscriber, smtp_inbox, celery_eager, django_capture_on_commit_callbacks
):
    confirmed = FollowFactory(followed=room.owner, email_live=True, follower__email_verified=True).follower
    row = site_settings_get()
    row.email_verification_required = True
    with django_capture_on_commit_callbacks(execute=True):
        row.save()
    go_live(client, room, django_capture_on_commit_callbacks)
    assert [m["To"] for m in smtp_inbox.wait_for(1)] == [confirmed.email]


def test_the_following_page_sets_the_email_opt_ins(room):
    follower = FollowFactory(followed=room.owner).follower
    browser = Client()
    browser.force_login(follower)
    page = browser.get("/following/")
    assert b"data-email-alerts" in page.content
    response = browser.post(f"/notifications/email/{room.owner.username}/", {"email_vod": "on"})
    assert response.status_code == 302
    follow = Follow.objects.get(follower=follower)
    assert (follow.email_live, follow.email_vod) == (False, True)
    stranger = UserFactory()
    assert browser.post(f"/notifications/email/{stranger.username}/", {"email_vod": "on"}).status_code == 400


def test_the_follow_api_sets_the_email_opt_ins(room):
    from rest_framework.test import APIClient

    follower = FollowFactory(followed=room.owner).follower
    api = APIClient()
    api.force_authenticate(follower)
    url = f"/api/users/{room.owner.username}/follow/"
    response = api.patch(url, {"email_live": True}, format="json")
    assert response.status_code == 200
    assert response.json() == {"notify": True, "email_live": True, "email_vod": False}
    bad = api.patch(url, {"email_live": "sometimes"}, format="json")
    assert bad.status_code == 400 and "email_live" in bad.json()["error"]["fields"]


def test_alerts_go_out_through_an_api_provider_backend_as_well(
    client, room, subscriber, settings, mailoutbox, celery_eager, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    go_live(client, room, django_capture_on_commit_callbacks)
    (message,) = mailoutbox
    assert message.to == [subscriber.email]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.anymail_status.status == {"sent"}
