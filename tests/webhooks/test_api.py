"""The webhooks API: registration with the URL guard, the secret shown once, owner-only access."""

import pytest

from tests.api.conftest import assert_error
from tests.factories import RoomFactory, UserFactory
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/"


@pytest.fixture
def api(client):
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def auth_api():
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return make


def test_create_shows_the_secret_once(auth_api, allow_loopback):
    user = UserFactory()
    client = auth_api(user)
    created = client.post(
        URL, {"url": "http://127.0.0.1:9/hook", "events": ["stream.started"]}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"] == Endpoint.objects.get(pk=body["id"]).secret
    assert {"id", "url", "events", "active"} <= set(body)
    listed = client.get(URL).json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://93.184.216.34/",
        "javascript:alert(1)",
    ],
)
def test_private_and_odd_urls_are_refused_without_the_setting(auth_api, url):
    response = auth_api(UserFactory()).post(URL, {"url": url, "events": ["vod.ready"]}, format="json")
    assert_error(response, 400, fields=("url",))
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "http://93.184.216.34/", "events": []},
        {"url": "http://93.184.216.34/", "events": ["chat.nope"]},
        {"url": "http://93.184.216.34/", "events": "stream.started"},
        {"url": "http://93.184.216.34/"},
        {"events": ["stream.started"]},
        {"url": "http://93.184.216.34/", "events": ["vod.ready"], "site_wide": True},
        {"url": "http://93.184.216.34/", "events": ["vod.ready"], "room": 999999},
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(auth_api, payload):
    assert_error(auth_api(UserFactory()).post(URL, payload, format="json"), 400)


def test_another_users_room_cannot_be_chosen(auth_api):
    room = RoomFactory()
    response = auth_api(UserFactory()).post(
        URL, {"url": "http://93.184.216.34/", "events": ["vod.ready"], "room": room.pk}, format="json"
    )
    assert_error(response, 400, fields=("room",))


def test_anonymous_clients_are_refused(api):
    assert api.get(URL).status_code == 401
    assert api.post(URL, {}, format="json").status_code == 401


def test_another_users_endpoint_is_404_on_every_verb(auth_api, staff, allow_loopback):
    owner, stranger = UserFactory(), UserFactory()
    endpoint = Endpoint.objects.create(owner=owner, url="http://127.0.0.1:9/", events=["vod.ready"])
    for client in (auth_api(stranger), auth_api(staff)):
        assert client.get(URL).json()["results"] == []
        assert_error(client.delete(f"{URL}{endpoint.pk}/"), 404, "not_found")
        assert_error(client.post(f"{URL}{endpoint.pk}/test/"), 404, "not_found")
        assert_error(client.get(f"{URL}{endpoint.pk}/deliveries/"), 404, "not_found")
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert not Delivery.objects.exists()


def test_staff_manage_site_wide_endpoints(auth_api, staff, allow_loopback):
    from tests.factories import StaffFactory

    created = auth_api(staff).post(
        URL, {"url": "http://127.0.0.1:9/", "events": ["follow.created"], "site_wide": True}, format="json"
    )
    assert created.status_code == 201, created.content
    other_staff = auth_api(StaffFactory())
    assert [item["id"] for item in other_staff.get(URL).json()["results"]] == [created.json()["id"]]
    assert other_staff.delete(f"{URL}{created.json()['id']}/").status_code == 204


def test_owner_deletes_and_reads_the_delivery_log(auth_api, allow_loopback):
    owner = UserFactory()
    client = auth_api(owner)
    endpoint = Endpoint.objects.create(owner=owner, url="http://127.0.0.1:9/", events=["vod.ready"])
    Delivery.objects.create(
        endpoint=endpoint, event="vod.ready", payload={}, status="failed", status_code=500
    )
    log = client.get(f"{URL}{endpoint.pk}/deliveries/").json()["results"]
    assert [(item["event"], item["status_code"], item["status"]) for item in log] == [
        ("vod.ready", 500, "failed")
    ]
    assert client.delete(f"{URL}{endpoint.pk}/").status_code == 204
    assert not Endpoint.objects.exists()
