"""Malformed input of every kind gets a 4xx in the one error shape, never a 500."""

import pytest

from tests.api.conftest import assert_error
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


def test_broken_json_is_a_parse_error(auth_api, user):
    response = auth_api(user).post("/api/rooms/", data='{"title": ', content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_a_json_body_that_is_not_an_object_is_refused(auth_api, user):
    response = auth_api(user).post("/api/rooms/", data="[1, 2]", content_type="application/json")
    assert_error(response, 400)


def test_a_huge_number_is_refused(auth_api, user):
    response = auth_api(user).post(
        "/api/notifications/read/", data='{"ids": [' + "9" * 5000 + "]}", content_type="application/json"
    )
    assert_error(response, 400)


def test_form_bodies_are_refused_as_unsupported(auth_api, user):
    assert_error(auth_api(user).post("/api/rooms/", {"title": "x"}), 415, "unsupported_media_type")


def test_a_wrong_method_is_refused(auth_api, user):
    room = RoomFactory(owner=user)
    assert_error(auth_api(user).delete(f"/api/rooms/{room.pk}/"), 405, "method_not_allowed")
    assert_error(auth_api(user).put("/api/rooms/", {}, format="json"), 405, "method_not_allowed")


def test_an_unknown_api_path_answers_in_the_error_shape(api):
    assert_error(api.get("/api/nothing-here/"), 404, "not_found")
    assert_error(api.get("/api/rooms/not-a-number/"), 404, "not_found")


def test_nul_characters_in_filters_are_refused(api):
    assert_error(api.get("/api/rooms/", {"q": "a\x00b"}), 400, fields=("q",))
    assert_error(api.get("/api/rooms/", {"category": "a\x00b"}), 400, fields=("category",))


@pytest.mark.parametrize("body", ["[" * 5000, '{"a":' * 5000, "[" * 40 + "]" * 40])
def test_deeply_nested_json_is_a_parse_error_even_anonymously(api, body):
    response = api.post("/api/auth/token/", data=body, content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_a_body_over_the_size_limit_is_a_parse_error(api, settings):
    settings.API_JSON_MAX_BYTES = 1000
    body = '{"username": "' + "x" * 1000 + '", "password": "y"}'

    response = api.post("/api/auth/token/", data=body, content_type="application/json")

    assert_error(response, 400, "parse_error")


def test_a_lone_surrogate_is_refused_before_reaching_the_database(api):
    body = '{"username": "ab\\ud800cd", "email": "a@example.com", "password": "a long good password 1"}'

    response = api.post("/api/auth/register/", data=body, content_type="application/json")

    assert_error(response, 400, "parse_error")
