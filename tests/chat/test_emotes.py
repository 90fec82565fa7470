"""Emotes: uploads with the avatar's checks, unique names per scope, the emote APIs, the XSS corpus."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from chat import services
from chat.forms import EmoteForm
from chat.models import Emote, EmoteUse
from tests.api.conftest import assert_error
from tests.chat.test_api import client_for
from tests.factories import RoomFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

# Markup and script payloads (OWASP's filter evasion cheat sheet and friends): none may become an emote
# name, and none may reach a page as anything but text.
XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "';alert(String.fromCharCode(88,83,83))//",
    "<iframe src=javascript:alert(1)>",
    "&lt;b&gt;x&lt;/b&gt;",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "\u003cscript\u003ealert(1)\u003c/script\u003e",
    "x onerror=alert(1)",
    'x" onerror="alert(1)',
    "{{7*7}}",
]


def image_file(
    *, format_: str = "PNG", size: tuple[int, int] = (32, 32), name: str = "e.png"
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB" if format_ == "JPEG" else "RGBA", size, "#c81e5a").save(buffer, format=format_)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{format_.lower()}")


def emote_of(*, room, name: str, by=None) -> Emote:
    """An emote added the way the dashboard and the API add one (its image through the form's checks)."""
    form = EmoteForm(data={"name": name}, files={"image": image_file()})
    assert form.is_valid(), form.errors
    if by is None:
        by = room.owner if room is not None else StaffFactory()
    return services.emote_create(room=room, by=by, **form.cleaned_data)


def upload(client, room, name: str, image=None):
    return client.post(
        reverse("api-room-emotes", args=[room.pk]),
        {"name": name, "image": image or image_file()},
        format="multipart",
    )


def test_the_owner_uploads_a_room_emote_and_everyone_lists_it(mongo_archive):
    room = RoomFactory()
    response = upload(client_for(room.owner), room, "PogChamp", image_file(name="my-face.png"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["scope"], body["uses"]) == ("PogChamp", "room", 0)
    assert body["url"].startswith("http://testserver/") and body["url"].endswith(".png")
    emote = Emote.objects.get()
    # The stored name comes from the content's format, never from the uploader's file name.
    assert emote.image.name.startswith("emotes/") and "my-face" not in emote.image.name
    EmoteUse.objects.create(emote=emote, room=room, count=4)
    listed = client_for(None).get(reverse("api-room-emotes", args=[room.pk])).json()
    assert [(e["name"], e["uses"]) for e in listed] == [("PogChamp", 4)]


def test_site_emotes_are_listed_apart_from_room_emotes():
    room = RoomFactory()
    emote_of(room=None, name="Kappa")
    emote_of(room=room, name="wave")
    site = client_for(None).get(reverse("api-emotes")).json()
    assert [(e["name"], e["scope"]) for e in site] == [("Kappa", "site")]
    assert [e["name"] for e in client_for(None).get(reverse("api-room-emotes", args=[room.pk])).json()] == [
        "wave"
    ]


def test_names_are_unique_per_scope_ignoring_case():
    room, other = RoomFactory(), RoomFactory()
    emote_of(room=room, name="wave")
    error = assert_error(upload(client_for(room.owner), room, "WAVE"), 400, fields=("name",))
    assert "already exists" in error["fields"]["name"][0]
    # Another room, and the site, may use the name.
    assert upload(client_for(other.owner), other, "wave").status_code == 201
    emote_of(room=None, name="Wave")
    assert Emote.objects.filter(name__iexact="wave").count() == 3


@pytest.mark.parametrize("name", ["a", "x" * 33, "with space", "émoji", "a:b", "", *XSS_CORPUS])
def test_odd_names_get_a_form_error(name):
    room = RoomFactory()
    assert_error(upload(client_for(room.owner), room, name), 400, "invalid", ("name",))
    assert not Emote.objects.exists()


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: image_file(format_="JPEG", name="e.jpg"), id="jpeg"),
        pytest.param(lambda: image_file(size=(300, 20)), id="too-wide"),
        pytest.param(
            lambda: SimpleUploadedFile("e.png", b"<script>alert(1)</script>", "image/png"), id="html"
        ),
        pytest.param(
            lambda: SimpleUploadedFile(
                "e.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"
            ),
            id="svg",
        ),
    ],
)
def test_bad_images_get_a_form_error(image):
    room = RoomFactory()
    assert_error(upload(client_for(room.owner), room, "ok_name", image()), 400, "invalid", ("image",))
    assert not Emote.objects.exists()


def test_an_image_over_the_byte_limit_is_refused_before_it_is_parsed(settings):
    settings.EMOTE_MAX_BYTES = 100
    room = RoomFactory()
    error = assert_error(upload(client_for(room.owner), room, "big"), 400, "invalid", ("image",))
    assert "limit" in error["fields"]["image"][0]


def test_only_the_owner_or_staff_manage_room_emotes():
    room = RoomFactory()
    assert_error(upload(client_for(UserFactory()), room, "nope"), 403)
    assert_error(upload(client_for(None), room, "nope"), 401)
    assert upload(client_for(StaffFactory()), room, "staff_made").status_code == 201
    emote = Emote.objects.get()
    url = reverse("api-room-emote", args=[room.pk, emote.pk])
    assert_error(client_for(UserFactory()).delete(url), 403)
    assert_error(client_for(room.owner).delete(reverse("api-room-emote", args=[room.pk + 1, emote.pk])), 404)
    assert client_for(room.owner).delete(url).status_code == 204
    assert not Emote.objects.exists()


def test_a_room_holds_at_most_the_emote_limit(settings):
    settings.EMOTES_PER_ROOM = 2
    room = RoomFactory()
    emote_of(room=room, name="one")
    emote_of(room=room, name="two")
    error = assert_error(upload(client_for(room.owner), room, "three"), 400, "emote_limit")
    assert "at most 2" in error["message"]


def test_json_instead_of_an_upload_is_a_4xx():
    room = RoomFactory()
    response = client_for(room.owner).post(
        reverse("api-room-emotes", args=[room.pk]), {"name": "x"}, format="json"
    )
    assert_error(response, 415)


def test_the_dashboard_uploads_lists_and_removes_room_emotes(client):
    room = RoomFactory()
    client.force_login(room.owner)
    response = client.post(reverse("dashboard_emote_add"), {"name": "wave", "image": image_file()})
    assert response.status_code == 302
    emote = Emote.objects.get(room=room)
    EmoteUse.objects.create(emote=emote, room=room, count=3)
    page = client.get(reverse("dashboard")).content.decode()
    assert ":wave:" in page and "used 3 times" in page
    duplicate = client.post(reverse("dashboard_emote_add"), {"name": "Wave", "image": image_file()})
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()
    assert client.post(reverse("dashboard_emote_delete", args=[emote.pk])).status_code == 302
    assert not Emote.objects.exists()
