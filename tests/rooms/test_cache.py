"""Hot room lists and anonymous pages served from Redis, and every event that must outdate them."""

import gzip
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache as django_cache
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework_simplejwt.tokens import RefreshToken

from rooms import cache, services
from rooms.models import Category, Room
from rooms.selectors import stream_key_active
from tests.factories import CategoryFactory, LiveRoomFactory, RoomFactory, StaffFactory

pytestmark = pytest.mark.django_db

HOOK_SECRET = "test-hook-secret"


@pytest.fixture(autouse=True)
def _hook_secret(settings):
    settings.RTMP_HOOK_SECRET = HOOK_SECRET


def queries_of(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, len(queries)


def html(client, url: str, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_live_rooms_and_categories_are_read_from_redis_after_the_first_time():
    LiveRoomFactory.create_batch(3)
    RoomFactory()
    first, _ = queries_of(cache.live_rooms)
    again, count = queries_of(cache.live_rooms)
    assert count == 0
    assert [room.pk for room in again] == [room.pk for room in first] and len(again) == 3
    assert again[0].owner.username and again[0].live_started_at is not None  # no lazy loads left

    cache.categories()
    categories, count = queries_of(cache.categories)
    assert count == 0
    assert sum(category.live_count for category in categories) == 3
    assert sum(category.room_count for category in categories) == 4


@pytest.mark.parametrize("url", ["/", "/api/rooms/?status=live", "room"])
def test_a_second_anonymous_request_runs_no_query(client, url):
    room = LiveRoomFactory()
    url = reverse("room_detail", args=[room.pk]) if url == "room" else url
    first = client.get(url)
    second, count = queries_of(lambda: client.get(url))
    assert count == 0
    assert second.status_code == 200 and second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


def test_the_live_list_api_reads_the_hot_list_for_signed_in_users_too(client, user):
    live = LiveRoomFactory()
    client.force_login(user)
    client.get("/api/rooms/?status=live")
    response, count = queries_of(lambda: client.get("/api/rooms/?status=live"))
    assert count == 2  # the session and its user: the rooms come from Redis
    assert [room["id"] for room in response.json()["results"]] == [live.pk]


def test_pages_still_render_while_redis_is_down(client, settings):
    room = LiveRoomFactory(title="Piano night")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    for _ in range(2):
        assert "Piano night" in html(client, "/")
        assert "Piano night" in html(client, reverse("room_detail", args=[room.pk]))


def test_signed_in_users_always_get_a_fresh_page(client, user):
    room = RoomFactory(title="Old title")
    html(client, "/")
    Room.objects.filter(pk=room.pk).update(title="New title")  # no event: anonymous pages may lag

    assert "Old title" in html(client, "/")
    client.force_login(user)
    assert "New title" in html(client, "/")


def test_each_language_has_its_own_cached_page(client):
    RoomFactory()
    assert '<html lang="en">' in html(client, "/")
    assert '<html lang="ko">' in html(client, "/", accept_language="ko")
    assert '<html lang="en">' in html(client, "/")


def test_each_address_has_its_own_cached_page(client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    live, idle = LiveRoomFactory(), RoomFactory()

    def ids(url: str, **headers) -> list[int]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        return [room["id"] for room in response.json()["results"]]

    for _ in range(2):  # the second time from the cache
        assert ids("/api/rooms/?status=live") == [live.pk]
        assert ids("/api/rooms/?status=idle") == [idle.pk]
    assert page_key("/api/rooms/?status=live") != page_key("/api/rooms/?status=idle")
    other_host = RequestFactory().get("/", headers={"host": "other.example"})
    assert cache._page_key(other_host) != page_key("/")  # links in a page may name its host


def test_an_anonymous_visitor_with_a_message_gets_a_fresh_page_that_is_not_kept(client):
    RoomFactory(title="Old title")
    html(client, "/")
    Room.objects.update(title="New title")
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "You are logged out.")])

    page = html(client, "/")
    assert "You are logged out." in page and "New title" in page
    del client.cookies["messages"]
    assert "Old title" in html(client, "/")  # the page with the message was not stored


def page_key(url: str, language: str = "en") -> str:
    request = RequestFactory().get(url)
    with translation.override(language):
        return cache._page_key(request)


def age(url: str) -> None:
    """Make the page kept for ``url`` due to be rendered again, as STALE_S seconds later."""
    key = page_key(url)
    page = django_cache.get(key)
    assert page is not None, "the page was not kept"
    django_cache.set(key, page._replace(fresh_until=time.time() - 1))
    cache.local_copies_forget()


def test_a_page_due_again_is_rendered_by_one_request_while_the_others_get_the_kept_one(client):
    room = RoomFactory(title="Old title")
    html(client, "/")
    Room.objects.filter(pk=room.pk).update(title="New title")  # no event: anonymous pages may lag
    age("/")

    # Another process has claimed the render: this one serves what it has, without a query.
    django_cache.add(f"{page_key('/')}:refresh", 1)
    page, count = queries_of(lambda: html(client, "/"))
    assert "Old title" in page and count == 0

    django_cache.delete(f"{page_key('/')}:refresh")
    cache.local_copies_forget()
    assert "New title" in html(client, "/")  # this request claimed it and rendered it
    page, count = queries_of(lambda: html(client, "/"))
    assert "New title" in page and count == 0  # kept again, and fresh
    age("/")
    assert "New title" in html(client, "/")  # the claim of the last render was let go: due again, rendered
    assert django_cache.get(f"{page_key('/')}:refresh") is None


@pytest.mark.parametrize("url", ["/", "/api/rooms/?status=live"])
def test_a_kept_page_is_served_gzipped_to_clients_that_accept_it(client, url):
    LiveRoomFactory.create_batch(3)
    plain = client.get(url)
    assert "Content-Encoding" not in plain  # the render itself goes out as it is

    zipped = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["Content-Type"] == plain["Content-Type"]
    again = client.get(url)
    assert "Content-Encoding" not in again and again.content == plain.content
    for response in (zipped, again):
        assert "Accept-Encoding" in response["Vary"]


def test_a_small_kept_response_is_not_gzipped():
    @cache.anonymous_page
    def small(request):
        return HttpResponse("hello")

    for _ in range(2):
        request = RequestFactory().get("/small/", headers={"accept-encoding": "gzip"})
        request.user = AnonymousUser()
        response = small(request)
    assert response.content == b"hello" and "Content-Encoding" not in response


def test_a_response_setting_a_cookie_or_carrying_a_csrf_token_is_not_kept():
    renders = []

    @cache.anonymous_page
    def with_cookie(request):
        renders.append(request)
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    @cache.anonymous_page
    def with_token(request):
        renders.append(request)
        return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')

    for view in (with_cookie, with_token):
        for _ in range(2):
            request = RequestFactory().get(f"/{view.__name__}/")
            request.user = AnonymousUser()
            view(request)
    assert len(renders) == 4


def test_an_api_client_with_a_token_is_never_served_from_the_page_cache(client, user):
    room = RoomFactory(title="Old title")
    client.get("/api/rooms/")
    Room.objects.filter(pk=room.pk).update(title="New title")  # no event: anonymous answers may lag
    token = RefreshToken.for_user(user).access_token

    fresh = client.get("/api/rooms/", headers={"authorization": f"Bearer {token}"}).json()
    assert fresh["results"][0]["title"] == "New title"
    assert client.get("/api/rooms/").json()["results"][0]["title"] == "Old title"


# Each event below must outdate the anonymous home page, the live list API and the hot lists at once.


def watch(client, room_title: str) -> None:
    """Cache the pages, then check they still show the old state before the event."""
    assert room_title in html(client, "/")
    client.get("/api/rooms/?status=live")
    cache.categories()


def hook(client, name: str, data: dict):
    url = reverse(f"rtmp_hooks:{name}") + "?" + urlencode({"secret": HOOK_SECRET})
    response = client.post(url, {"app": "live", "addr": "203.0.113.7", **data})
    assert response.status_code < 400, response.content
    return response


def live_ids(client) -> list[int]:
    return [room["id"] for room in client.get("/api/rooms/?status=live").json()["results"]]


def test_going_live_and_idle_outdates_the_lists(client, celery_eager, django_capture_on_commit_callbacks):
    room = RoomFactory(title="Piano night")
    watch(client, "Piano night")
    assert live_ids(client) == []

    with django_capture_on_commit_callbacks(execute=True):
        hook(client, "publish", {"name": stream_key_active(room=room).secret, "clientid": "7"})
    assert live_ids(client) == [room.pk]
    assert "Live now" in html(client, "/")
    assert sum(category.live_count for category in cache.categories()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        hook(client, "publish_done", {"name": stream_key_active(room=room).secret, "clientid": "7"})
    assert live_ids(client) == []
    assert "Live now" not in html(client, "/")
    assert sum(category.live_count for category in cache.categories()) == 0


def test_editing_a_room_outdates_the_lists(client, django_capture_on_commit_callbacks):
    room = LiveRoomFactory(title="Piano night")
    watch(client, "Piano night")
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, changes={"title": "Guitar night"})
    page = html(client, "/")
    assert "Guitar night" in page and "Piano night" not in page
    assert cache.live_rooms()[0].title == "Guitar night"


def test_creating_and_deleting_a_room_outdates_the_lists(client, user, django_capture_on_commit_callbacks):
    LiveRoomFactory(title="Piano night")
    watch(client, "Piano night")
    with django_capture_on_commit_callbacks(execute=True):
        created = services.room_create(owner=user, title="Brand new room")
    assert "Brand new room" in html(client, "/")

    with django_capture_on_commit_callbacks(execute=True):
        created.delete()
    assert "Brand new room" not in html(client, "/")


def test_deleting_a_room_in_the_admin_outdates_the_lists(client, django_capture_on_commit_callbacks):
    room = LiveRoomFactory(title="Piano night")
    watch(client, "Piano night")
    admin = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client = client.__class__()
        admin_client.force_login(admin)
        response = admin_client.post(reverse("admin:rooms_room_delete", args=[room.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert "Piano night" not in html(client, "/")
    assert live_ids(client) == []


def test_changing_a_category_in_the_admin_outdates_the_lists(client, django_capture_on_commit_callbacks):
    music = CategoryFactory(name="Music", slug="music")
    LiveRoomFactory(title="Piano night", category=music)
    watch(client, "Piano night")
    admin_client = client.__class__()
    admin_client.force_login(StaffFactory())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:rooms_category_change", args=[music.pk]),
            {"name": "Live music", "slug": "music", "description": "", "position": 0},
        )
    assert response.status_code == 302, response.content[:2000]
    assert "Live music" in html(client, "/")
    assert [category.name for category in cache.categories()] == ["Live music"]
    assert client.get("/api/rooms/?status=live").json()["results"][0]["category"]["name"] == "Live music"

    with django_capture_on_commit_callbacks(execute=True):
        Category.objects.get(pk=music.pk).delete()
    assert cache.categories() == []
