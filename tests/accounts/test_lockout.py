"""Brute force against the log-in forms: django-axes locks by user name and by address, the lockout lands in
the activity log, and sign-ups are rate limited per address."""

import pytest
from django.urls import reverse

from accounts.models import ActivityLog
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long good password 1"


def page_login(client, username: str, password: str, address: str = "203.0.113.5"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_page_log_in_is_locked_after_repeated_failures_even_with_the_right_password(client, settings):
    user = UserFactory(password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page_login(client, user.username, "wrong")

    response = page_login(client, user.username, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    lockouts = ActivityLog.objects.filter(action=ActivityLog.Action.LOCKOUT)
    assert lockouts.exists()
    assert all(entry.user == user and entry.ip_address == "203.0.113.5" for entry in lockouts)


def test_the_lock_on_a_user_name_holds_from_another_address(client, settings):
    user = UserFactory(password=PASSWORD)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page_login(client, user.username, "wrong", address=f"198.51.100.{attempt + 1}")

    assert page_login(client, user.username, PASSWORD, address="192.0.2.99").status_code == 429


def test_an_address_trying_many_users_is_locked(client, settings):
    victim = UserFactory(password=PASSWORD)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page_login(client, f"someone{attempt}", "wrong")

    assert page_login(client, victim.username, PASSWORD).status_code == 429


def test_admin_log_in_is_locked_too(client, settings):
    admin = StaffFactory(password=PASSWORD, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": admin.username, "password": "wrong"}, REMOTE_ADDR="203.0.113.6")

    response = client.post(url, {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.6")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_out_token_request_answers_in_the_api_error_shape(client, settings):
    user = UserFactory(password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page_login(client, user.username, "wrong")

    response = client.post(
        "/api/auth/token/",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.5",
    )

    assert response.status_code in (401, 403, 429)
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert "access" not in response.json()


def test_a_right_password_before_the_limit_still_works(client, settings):
    user = UserFactory(password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page_login(client, user.username, "wrong")

    response = page_login(client, user.username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_ups_from_one_address_are_rate_limited(client, settings):
    settings.SIGNUP_RATE_PER_HOUR = 2
    statuses = []
    for number in range(3):
        response = client.post(
            reverse("signup"),
            {
                "username": f"newcomer{number}",
                "email": f"newcomer{number}@example.com",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
            REMOTE_ADDR="203.0.113.7",
        )
        client.logout()
        statuses.append(response.status_code)

    assert statuses == [302, 302, 429]
    assert ActivityLog.objects.filter(action=ActivityLog.Action.SIGNUP_LIMITED).count() == 1
