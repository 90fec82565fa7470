"""The destinations API (docs/restream.md): owner only, key write-only and encrypted, bad input a 4xx."""

import logging

import pytest
from django.db import connection

from relay.keys import key_decrypt
from relay.models import Destination
from tests.api.conftest import assert_error
from tests.factories import RoomFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY = "live_abcdef_0123456789_secret"


def destinations_url(room) -> str:
    return f"/api/rooms/{room.pk}/destinations/"


def test_owner_adds_a_destination_and_never_reads_its_key_back(auth_api, allow_loopback, caplog):
    room = RoomFactory()
    client = auth_api(room.owner)
    caplog.set_level(logging.DEBUG)
    response = client.post(
        destinations_url(room),
        {"name": "YouTube", "url": "rtmp://127.0.0.1:1935/live2/", "key": KEY},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "name", "url", "enabled", "state", "error", "updated_at"}
    assert (body["url"], body["enabled"], body["state"], body["error"]) == (
        "rtmp://127.0.0.1:1935/live2",
        True,
        "stopped",
        "",
    )
    assert body["key_hint"] == KEY[-4:]
    listed = client.get(destinations_url(room))
    assert listed.status_code == 200
    assert KEY not in response.content.decode() + listed.content.decode()
    # At rest the key is a Fernet token, not the key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT key_encrypted FROM relay_destination WHERE id = %s", [body["id"]])
        (stored,) = cursor.fetchone()
    assert KEY not in stored
    assert key_decrypt(stored) == KEY
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("http://127.0.0.1/live", "url"),
        ("rtmp://", "url"),
        ("rtmp://user:pw@127.0.0.1/live", "url"),
        ("rtmp://127.0.0.1", "url"),
        ("rtmp://no-such-host.invalid/live", "url"),
        ("not a url", "url"),
    ],
)
def test_bad_urls_are_refused_with_the_error_shape(auth_api, allow_loopback, url, field):
    room = RoomFactory()
    response = auth_api(room.owner).post(
        destinations_url(room), {"name": "X", "url": url, "key": KEY}, format="json"
    )
    assert_error(response, 400, fields=(field,))
    assert not Destination.objects.exists()


def test_private_addresses_are_refused_unless_the_site_allows_them(auth_api, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    room = RoomFactory()
    for url in (
        "rtmp://127.0.0.1/live",
        "rtmp://10.0.0.8/live",
        "rtmps://[::1]/live",
        "rtmp://169.254.1.1/app",
    ):
        response = auth_api(room.owner).post(
            destinations_url(room), {"name": "X", "url": url, "key": KEY}, format="json"
        )
        assert_error(response, 400, code="invalid", fields=("url",))


@pytest.mark.parametrize("key", ["", "   ", "two words", "line\nbreak", "x" * 501])
def test_keys_with_spaces_breaks_or_nothing_are_refused(auth_api, allow_loopback, key):
    room = RoomFactory()
    response = auth_api(room.owner).post(
        destinations_url(room), {"name": "X", "url": "rtmp://127.0.0.1/live", "key": key}, format="json"
    )
    assert_error(response, 400, fields=("key",))


def test_only_the_owner_sees_or_changes_destinations(auth_api, allow_loopback):
    room = RoomFactory()
    owner_client = auth_api(room.owner)
    created = owner_client.post(
        destinations_url(room), {"name": "T", "url": "rtmp://127.0.0.1/app", "key": KEY}, format="json"
    ).json()
    other = auth_api(UserFactory())
    assert_error(other.get(destinations_url(room)), 403)
    assert_error(
        other.post(
            destinations_url(room), {"name": "T", "url": "rtmp://127.0.0.1/a", "key": KEY}, format="json"
        ),
        403,
    )
    assert_error(other.patch(f"/api/destinations/{created['id']}/", {"enabled": False}, format="json"), 404)
    assert_error(other.delete(f"/api/destinations/{created['id']}/"), 404)
    assert Destination.objects.get().enabled


def test_patch_disables_and_changes_the_key_and_delete_removes(auth_api, allow_loopback):
    room = RoomFactory()
    client = auth_api(room.owner)
    created = client.post(
        destinations_url(room), {"name": "T", "url": "rtmp://127.0.0.1/app", "key": KEY}, format="json"
    ).json()
    response = client.patch(
        f"/api/destinations/{created['id']}/", {"enabled": False, "key": "new_key_0123456789"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["enabled"], response.json()["state"]) == (False, "stopped")
    assert key_decrypt(Destination.objects.get().key_encrypted) == "new_key_0123456789"
    assert_error(
        client.patch(f"/api/destinations/{created['id']}/", {"url": "ftp://x/y"}, format="json"),
        400,
        fields=("url",),
    )
    assert client.delete(f"/api/destinations/{created['id']}/").status_code == 204
    assert not Destination.objects.exists()


def test_anonymous_is_refused(api):
    room = RoomFactory()
    assert_error(api.get(destinations_url(room)), 401)
