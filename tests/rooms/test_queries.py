"""Pages and the room list API cost the same number of queries whatever the number of rooms, follows and VODs.

Each test builds a small world, counts one request's queries, grows the world tenfold and counts again.
The page cache is emptied before each count, so both counts are of a full render.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rooms.cache import local_copies_forget
from tests.factories import (
    CategoryFactory,
    FollowFactory,
    LiveRoomFactory,
    RoomFactory,
    StreamFactory,
    UserFactory,
    VodFactory,
)

pytestmark = pytest.mark.django_db

SMALL = {"rooms": 5, "vods": 3, "followers": 10}
LARGE = {"rooms": 50, "vods": 30, "followers": 100}


class World:
    """One streamer with a live and an idle room, their followers and VODs, among other rooms of a category."""

    def __init__(self):
        self.category = CategoryFactory(slug="games")
        self.streamer = UserFactory(username="star")
        self.live_room = LiveRoomFactory(owner=self.streamer, category=self.category)
        self.idle_room = RoomFactory(owner=self.streamer, category=self.category)
        self.viewer = UserFactory(username="viewer")
        FollowFactory(follower=self.viewer, followed=self.streamer)
        self.rooms = self.vods = self.followers = 0

    def grow(self, *, rooms: int, vods: int, followers: int) -> None:
        for index in range(self.rooms, rooms):
            room = (LiveRoomFactory if index % 2 else RoomFactory)(category=self.category)
            FollowFactory(follower=self.viewer, followed=room.owner)
            FollowFactory(follower=self.streamer, followed=room.owner)
        for _ in range(self.vods, vods):
            for room in (self.live_room, self.idle_room):
                VodFactory(room=room, stream=StreamFactory(room=room))
        for _ in range(self.followers, followers):
            FollowFactory(followed=self.streamer)
        self.rooms, self.vods, self.followers = rooms, vods, followers


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The worlds hold a few hundred users: hashing strength would only slow the setup.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    return World()


def query_count(client, url: str) -> int:
    cache.clear()
    local_copies_forget()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


def counts_small_and_large(client, world, url: str) -> tuple[int, int]:
    world.grow(**SMALL)
    small = query_count(client, url)
    world.grow(**LARGE)
    return small, query_count(client, url)


PAGES = {
    "home": lambda world: reverse("home"),
    "category": lambda world: reverse("category", args=[world.category.slug]),
    "live room": lambda world: reverse("room_detail", args=[world.live_room.pk]),
    "idle room": lambda world: reverse("room_detail", args=[world.idle_room.pk]),
    "profile": lambda world: reverse("profile", args=[world.streamer.username]),
    "room list API": lambda world: "/api/rooms/",
    "live room list API": lambda world: "/api/rooms/?status=live",
}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_page_query_count_does_not_grow_with_rooms_follows_and_vods(client, world, page, signed_in):
    if signed_in:
        client.force_login(world.viewer)
    small, large = counts_small_and_large(client, world, PAGES[page](world))
    assert small == large


def test_streamer_on_their_own_pages_costs_the_same_queries_whatever_their_following(client, world):
    client.force_login(world.streamer)
    for page in ("live room", "profile", "home"):
        world.rooms = world.vods = world.followers = 0
        small, large = counts_small_and_large(client, world, PAGES[page](world))
        assert small == large, page


def test_the_live_room_page_needs_few_queries(client, world):
    world.grow(**LARGE)
    # The room with its owner, follower count and live start; its VODs; its clips; its upcoming scheduled
    # streams; the session's user is not loaded.
    assert query_count(client, PAGES["live room"](world)) <= 5
