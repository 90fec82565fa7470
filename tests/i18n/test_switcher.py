"""The language switcher and the languages of a visit: explicit switch > saved choice > Accept-Language > en."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.i18n.conftest import translated

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME


def page_language(client: Client, url: str = "/", **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response["Content-Language"]


def test_the_switcher_lists_every_language_in_its_own_name_and_marks_the_current_one(client):
    body = client.get("/", headers={"accept-language": "vi"}).content.decode()
    assert 'action="/i18n/setlang/"' in body
    for code, own_name in settings.LANGUAGES:
        assert f'value="{code}"' in body and own_name in body
    assert 'value="vi" class="menu__button" lang="vi"\n                    aria-current="true"' in body
    assert body.count('aria-current="true"') == 1


def test_an_anonymous_switch_sets_the_cookie_and_the_next_pages_follow_it(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/search/?q=x"})
    assert response.status_code == 302 and response["Location"] == "/search/?q=x"
    assert response.cookies[COOKIE].value == "zh-hans"
    assert page_language(client, "/", accept_language="ko") == "zh-hans"
    assert translated("zh-hans", "Categories") in client.get("/").content.decode()


def test_an_unknown_language_changes_nothing(client):
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert COOKIE not in response.cookies
    assert page_language(client) == "en"


def test_accept_language_decides_when_nothing_was_chosen(client):
    assert page_language(client, accept_language="ko-KR,ko;q=0.9,en;q=0.5") == "ko"
    assert page_language(client, accept_language="zh-CN,zh;q=0.9") == "zh-hans"
    assert page_language(client, accept_language="de-DE") == "en"


def test_a_logged_in_switch_is_saved_and_applied_at_the_next_login_from_a_fresh_browser(client):
    user = UserFactory()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    user.refresh_from_db()
    assert user.language == "ko"

    fresh = Client()
    response = fresh.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "ko"
    # Even a browser asking for another language: the saved choice is this user's explicit one.
    assert page_language(fresh, accept_language="vi") == "ko"


def test_the_saved_language_applies_without_a_cookie_and_a_cookie_switch_outranks_it(client):
    user = UserFactory(language="vi")
    client.force_login(user)
    assert page_language(client, accept_language="ko") == "vi"
    client.cookies[COOKIE] = "zh-hans"
    assert page_language(client, accept_language="ko") == "zh-hans"


def test_the_language_is_edited_on_the_profile_page(client):
    user = UserFactory()
    client.force_login(user)
    form = client.get("/accounts/profile/").content.decode()
    assert 'name="language"' in form
    response = client.post("/accounts/profile/", {"display_name": "Trang", "bio": "", "language": "vi"})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "vi"
    assert User.objects.get(pk=user.pk).language == "vi"
    # Back to "my browser's language": the cookie goes, Accept-Language speaks again.
    response = client.post("/accounts/profile/", {"display_name": "Trang", "bio": "", "language": ""})
    assert response.cookies[COOKIE].value == ""
    assert User.objects.get(pk=user.pk).language == ""
    assert page_language(client, accept_language="ko") == "ko"


def test_me_api_reads_and_writes_the_language(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/api/me/").json()["language"] == ""
    response = client.patch("/api/me/", {"language": "zh-hans"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["language"] == "zh-hans"
    bad = client.patch("/api/me/", {"language": "xx"}, content_type="application/json")
    assert bad.status_code == 400
    assert User.objects.get(pk=user.pk).language == "zh-hans"


def test_anonymous_pages_carry_no_csrf_token_for_the_switcher_but_a_saved_switch_needs_one():
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get("/")
    assert "csrfmiddlewaretoken" not in page.content.decode() and "csrftoken" not in page.cookies
    assert anonymous.post("/i18n/setlang/", {"language": "ko", "next": "/"}).status_code == 302

    user = UserFactory()
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(user)
    assert signed_in.post("/i18n/setlang/", {"language": "ko", "next": "/"}).status_code == 403
    token = signed_in.get("/").cookies["csrftoken"].value
    response = signed_in.post("/i18n/setlang/", {"language": "ko", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).language == "ko"
