import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import ActivityLog, User
from tests.api.conftest import assert_error
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def obtain(api, user, password=PASSWORD):
    return api.post("/api/auth/token/", {"username": user.username, "password": password}, format="json")


def refresh(api, token):
    return api.post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def test_register_creates_a_user_who_can_then_get_tokens(api):
    response = api.post(
        "/api/auth/register/",
        {"username": "newbie", "email": "New@Example.com", "password": PASSWORD, "display_name": "Newbie"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "newbie" and body["display_name"] == "Newbie"
    assert "password" not in body
    user = User.objects.get(username="newbie")
    assert user.check_password(PASSWORD)
    tokens = obtain(api, user)
    assert tokens.status_code == 200
    assert set(tokens.json()) == {"access", "refresh"}


def test_register_refuses_a_weak_password_and_a_bad_username_with_field_errors(api):
    response = api.post(
        "/api/auth/register/",
        {"username": "bad name!", "email": "not-an-email", "password": "123"},
        format="json",
    )
    assert_error(response, 400, "invalid", fields=("username", "email"))
    response = api.post(
        "/api/auth/register/",
        {"username": "fine", "email": "fine@example.com", "password": "123"},
        format="json",
    )
    assert_error(response, 400, "invalid", fields=("password",))
    assert not User.objects.filter(username="fine").exists()


def test_register_refuses_a_username_or_email_taken_in_another_case(api):
    UserFactory(username="Taken", email="taken@example.com")
    response = api.post(
        "/api/auth/register/",
        {"username": "taken", "email": "TAKEN@example.com", "password": PASSWORD},
        format="json",
    )
    assert_error(response, 400, fields=("username", "email"))
    assert User.objects.count() == 1


def test_token_with_a_wrong_password_is_refused(api, user):
    assert_error(obtain(api, user, "wrong-password"), 401, "no_active_account")


def test_token_obtain_logs_the_login(api, user):
    assert obtain(api, user).status_code == 200
    assert ActivityLog.objects.filter(user=user, action=ActivityLog.Action.LOGIN).exists()
    user.refresh_from_db()
    assert user.last_login is not None


def test_access_token_opens_me(api, user):
    access = obtain(api, user).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_refresh_rotates_and_the_rotated_token_cannot_be_reused(api, user):
    first = obtain(api, user).json()["refresh"]
    rotated = refresh(api, first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh"]
    assert second != first and rotated.json()["access"]
    assert_error(refresh(api, first), 401, "token_not_valid")
    assert refresh(api, second).status_code == 200


def test_logout_revokes_the_refresh_token(api, user):
    token = obtain(api, user).json()["refresh"]
    response = api.post("/api/auth/logout/", {"refresh": token}, format="json")
    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert_error(refresh(api, token), 401, "token_not_valid")


def test_logout_with_a_garbage_token_is_refused(api):
    assert_error(
        api.post("/api/auth/logout/", {"refresh": "nonsense"}, format="json"), 401, "token_not_valid"
    )
    assert_error(api.post("/api/auth/logout/", {}, format="json"), 400, fields=("refresh",))


def test_deactivated_user_gets_no_token_no_refresh_and_no_access(api, user):
    tokens = obtain(api, user).json()
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(obtain(api, user), 401, "no_active_account")
    assert_error(refresh(api, tokens["refresh"]), 401, "no_active_account")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_error(api.get("/api/me/"), 401)


def test_refresh_of_a_deleted_user_is_refused_not_a_server_error(api, user):
    token = obtain(api, user).json()["refresh"]
    user.delete()
    assert_error(refresh(api, token), 401)


def test_garbage_bearer_token_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert_error(api.get("/api/rooms/"), 401, "token_not_valid")


def test_auth_endpoints_are_throttled_per_address(api, user):
    for _attempt in range(20):
        assert obtain(api, user, "wrong").status_code == 401
    error = assert_error(obtain(api, user), 429, "throttled")
    assert "available" in error["message"]


def test_throttle_ignores_a_forged_forwarded_for_header(api, user):
    for attempt in range(20):
        api.post(
            "/api/auth/token/",
            {"username": user.username, "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
    assert obtain(api, user).status_code == 429


def test_me_needs_authentication(api):
    assert_error(api.get("/api/me/"), 401, "not_authenticated")


def test_me_patch_changes_display_name_and_bio_only(auth_api, user):
    response = auth_api(user).patch(
        "/api/me/",
        {"display_name": "Night Owl", "bio": "I stream at night.", "username": "hacker"},
        format="json",
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.display_name, user.bio, user.username) == ("Night Owl", "I stream at night.", user.username)
    assert response.json()["display_name"] == "Night Owl"


def test_me_patch_refuses_an_overlong_display_name(auth_api, user):
    assert_error(
        auth_api(user).patch("/api/me/", {"display_name": "x" * 51}, format="json"),
        400,
        fields=("display_name",),
    )


def test_token_responses_are_never_cached(api, user):
    assert "no-store" in obtain(api, user)["Cache-Control"]
