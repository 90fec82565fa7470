import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import ActivityLog, User
from tests.factories import PASSWORD, StreamFactory, UserFactory, VodFactory
from vod.models import Vod

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-Marmot-42-orbit"


def signup_data(**overrides):
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }
    return data | overrides


def image_upload(fmt="PNG", size=(32, 32), name="avatar.png"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "purple").save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def test_signup_creates_user_logs_in_and_records_activity(client):
    response = client.post(reverse("signup"), signup_data())

    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.check_password(STRONG_PASSWORD)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert ActivityLog.objects.filter(action=ActivityLog.Action.SIGNUP, user=user).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "Taken"}, "username"),
        ({"email": "TAKEN@Example.COM"}, "email"),
        ({"password1": "password", "password2": "password"}, "password2"),
        ({"password2": STRONG_PASSWORD + "x"}, "password2"),
        ({"username": "x" * 51}, "username"),
    ],
    ids=["taken-username", "taken-email-other-case", "weak-password", "mismatch", "long-username"],
)
def test_signup_bad_input_shows_form_errors_and_creates_nobody(client, overrides, field):
    UserFactory(username="taken", email="taken@example.com")

    response = client.post(reverse("signup"), signup_data(**overrides))

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert User.objects.count() == 1
    assert "_auth_user_id" not in client.session
    assert not ActivityLog.objects.filter(action=ActivityLog.Action.SIGNUP).exists()


def test_login_then_logout(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_login_with_wrong_password_is_refused(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_navbar_offers_logout_as_a_post_form_to_signed_in_users(client, user):
    client.force_login(user)

    html = client.get(reverse("home")).content.decode()

    assert f'action="{reverse("logout")}" method="post"' in html


def test_profile_edit_saves_display_name_and_bio(client, user):
    client.force_login(user)

    response = client.post(reverse("profile_edit"), {"display_name": "Night Owl", "bio": "I stream at 3am."})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.bio) == ("Night Owl", "I stream at 3am.")


def test_profile_edit_saves_a_small_png_under_a_name_from_its_real_format(client, user):
    client.force_login(user)

    response = client.post(
        reverse("profile_edit"),
        {"display_name": "x", "bio": "", "avatar": image_upload(name="avatar.txt")},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar.name.startswith("avatars/")
    assert user.avatar.name.endswith(".png")
    assert user.avatar.storage.exists(user.avatar.name)


@pytest.mark.parametrize(
    "upload",
    [
        pytest.param(
            lambda: SimpleUploadedFile("a.png", b"not an image at all", "image/png"), id="not-image"
        ),
        pytest.param(lambda: image_upload(fmt="BMP", name="a.bmp"), id="bmp"),
        pytest.param(lambda: image_upload(size=(4097, 1)), id="too-wide"),
    ],
)
def test_profile_edit_refuses_files_that_are_not_allowed_images(client, user, upload):
    client.force_login(user)

    response = client.post(reverse("profile_edit"), {"display_name": "x", "bio": "", "avatar": upload()})

    assert response.status_code == 200
    assert response.context["form"].errors["avatar"]
    user.refresh_from_db()
    assert not user.avatar


def test_profile_edit_refuses_an_oversized_avatar(client, user, settings):
    settings.AVATAR_MAX_BYTES = 1024
    client.force_login(user)
    noise = io.BytesIO()
    Image.effect_noise((256, 256), 100).save(noise, format="PNG")
    big = SimpleUploadedFile("big.png", noise.getvalue(), "image/png")
    assert big.size > 1024

    response = client.post(reverse("profile_edit"), {"display_name": "x", "bio": "", "avatar": big})

    assert response.status_code == 200
    assert response.context["form"].errors["avatar"]
    user.refresh_from_db()
    assert not user.avatar


def test_anonymous_profile_edit_redirects_to_login(client):
    response = client.get(reverse("profile_edit"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_profile_page_shows_rooms_past_streams_and_only_ready_vods(client):
    stream = StreamFactory(room__title="Speedrun corner")
    owner = stream.room.owner
    VodFactory(room=stream.room, title="Ready replay")
    VodFactory(room=stream.room, title="Still processing", status=Vod.Status.PROCESSING)
    VodFactory(room=stream.room, title="Hidden by staff", status=Vod.Status.HIDDEN)

    response = client.get(reverse("profile", args=[owner.username]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Speedrun corner" in html
    assert "1:00:00" in html  # the ended stream's duration
    assert "Ready replay" in html
    assert "Still processing" not in html
    assert "Hidden by staff" not in html


def test_profile_of_unknown_user_is_404(client, db):
    assert client.get(reverse("profile", args=["nobody"])).status_code == 404
