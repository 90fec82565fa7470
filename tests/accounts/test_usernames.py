"""User names compared as people read them: look-alikes of existing names and invisible characters are
refused at sign-up, on the page and through the API."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long good password 1"


def page_signup(client, username: str):
    return client.post(
        reverse("signup"),
        {"username": username, "email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )


@pytest.mark.parametrize("lookalike", ["\u0430dmin", "\u0430dm\u0456n", "ADM\u0406N"])
def test_a_name_confusable_with_an_existing_one_is_refused(client, lookalike):
    UserFactory(username="admin")

    response = page_signup(client, lookalike)

    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not User.objects.filter(username=lookalike).exists()


@pytest.mark.parametrize("name", ["ad\u200bmin", "ad\u00admin"])
def test_invisible_characters_are_refused(client, name):
    response = page_signup(client, name)

    assert "username" in response.context["form"].errors


@pytest.mark.parametrize("name", ["\u0430dmin", "\uff41dmin2", "ad\u200bmin2"])
def test_the_api_refuses_lookalikes_and_hidden_characters_with_a_field_error(client, name):
    UserFactory(username="admin")

    response = client.post(
        "/api/auth/register/",
        {"username": name, "email": "new@example.com", "password": PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "username" in response.json()["error"]["fields"]


@pytest.mark.parametrize("name", ["newcomer", "用户名", "Nguyễn", "김철수"])
def test_ordinary_names_in_one_script_are_welcome(client, name):
    UserFactory(username="admin")

    response = page_signup(client, name)

    assert response.status_code == 302
    assert User.objects.filter(username=name).exists()
