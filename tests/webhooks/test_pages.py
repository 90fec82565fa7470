"""The dashboard's webhooks page: the secret shown once, the URL guard as a form error, owner-only."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def test_adding_shows_the_secret_once(client, allow_loopback):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("webhooks"), {"url": "http://127.0.0.1:9/hook", "events": ["vod.ready"]})
    assert response.status_code == 200
    endpoint = Endpoint.objects.get(owner=user)
    assert endpoint.secret in response.content.decode()
    again = client.get(reverse("webhooks")).content.decode()
    assert "http://127.0.0.1:9/hook" in again and endpoint.secret not in again


def test_a_private_url_is_a_form_error(client):
    client.force_login(UserFactory())
    response = client.post(reverse("webhooks"), {"url": "http://10.0.0.1/", "events": ["vod.ready"]})
    assert response.status_code == 200
    assert "private or local network" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_another_users_endpoint_is_404(client, allow_loopback):
    endpoint = Endpoint.objects.create(owner=UserFactory(), url="http://127.0.0.1:9/", events=["vod.ready"])
    client.force_login(UserFactory())
    assert client.get(reverse("webhook_deliveries", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhook_test", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhook_delete", args=[endpoint.pk])).status_code == 404
    assert endpoint.url not in client.get(reverse("webhooks")).content.decode()
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_the_owner_deletes(client, allow_loopback):
    owner = UserFactory()
    endpoint = Endpoint.objects.create(owner=owner, url="http://127.0.0.1:9/", events=["vod.ready"])
    client.force_login(owner)
    assert client.post(reverse("webhook_delete", args=[endpoint.pk])).status_code == 302
    assert not Endpoint.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get(reverse("webhooks")).status_code == 302
