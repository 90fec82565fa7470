"""E-mail verification as a site setting: new accounts confirm their address through a mailed link (read
from a real SMTP server on loopback); they can log in meanwhile, alerts wait (tests/notifications)."""

import re
import subprocess
import sys

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.services import site_settings_get
from tests.accounts.test_pages import signup_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def verification_required(django_capture_on_commit_callbacks):
    row = site_settings_get()
    row.email_verification_required = True
    with django_capture_on_commit_callbacks(execute=True):
        row.save()


def link_in(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://\S+(/accounts/email/verify/\S+/)", text).group(1)


def test_a_new_account_confirms_its_address_through_the_mailed_link(
    client, smtp_inbox, verification_required
):
    response = client.post(reverse("signup"), signup_data())
    assert response.status_code == 302  # logged in at once
    user = User.objects.get(username="newbie")
    assert user.email_verified is False
    (message,) = smtp_inbox.wait_for(1)
    assert message["To"] == "newbie@example.com"

    page = client.get(link_in(message))
    assert page.status_code == 200 and b"data-email-verified" in page.content
    user.refresh_from_db()
    assert user.email_verified is True


def test_the_profile_offers_the_link_again_until_confirmed(client, smtp_inbox, verification_required):
    user = UserFactory()
    client.force_login(user)
    assert b"data-email-verify" in client.get(reverse("profile_edit")).content
    assert client.post(reverse("email_verify")).status_code == 302
    client.get(link_in(smtp_inbox.wait_for(1)[0]))
    assert b"data-email-verify" not in client.get(reverse("profile_edit")).content


def test_no_mail_when_the_setting_is_off(client, smtp_inbox):
    assert client.post(reverse("signup"), signup_data()).status_code == 302
    assert smtp_inbox.messages == []


def test_the_api_sign_up_mails_the_link_too(client, smtp_inbox, verification_required):
    response = client.post(
        "/api/auth/register/",
        {"username": "apiuser", "email": "api@example.com", "password": "violet-Marmot-42-orbit"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert smtp_inbox.wait_for(1)[0]["To"] == "api@example.com"


@pytest.mark.parametrize("token", ["nonsense", "eyJ1c2VyIjoxfQ:1abc:forged"])
def test_a_forged_or_stale_link_is_refused(client, token):
    response = client.get(f"/accounts/email/verify/{token}/")
    assert response.status_code == 400 and b"data-email-verify-invalid" in response.content


def test_a_link_for_an_address_since_changed_is_refused(client, smtp_inbox, verification_required):
    client.post(reverse("signup"), signup_data())
    link = link_in(smtp_inbox.wait_for(1)[0])
    User.objects.filter(username="newbie").update(email="other@example.com")
    assert client.get(link).status_code == 400
    assert User.objects.get(username="newbie").email_verified is False


def test_an_api_mail_provider_is_chosen_from_the_environment():
    """EMAIL_BACKEND picks a django-anymail backend and ANYMAIL carries its settings; SMTP stays the default."""
    script = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND, settings.ANYMAIL)"
    env_anymail = {
        "EMAIL_BACKEND": "anymail.backends.test.EmailBackend",
        "ANYMAIL": '{"SEND_DEFAULTS": {"tags": ["x"]}}',
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**_base_env(), **env_anymail},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "anymail.backends.test.EmailBackend {'SEND_DEFAULTS': {'tags': ['x']}}"
    default = subprocess.run(
        [sys.executable, "-c", script],
        env={**_base_env(), "EMAIL_URL": "smtp://127.0.0.1:2525"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert default.startswith("django.core.mail.backends.smtp.EmailBackend")


def _base_env() -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in {"EMAIL_BACKEND", "ANYMAIL", "EMAIL_URL"}}
    return env | {"DJANGO_SETTINGS_MODULE": "streamlite.settings"}
