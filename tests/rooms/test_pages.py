import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rooms.models import Room
from tests.factories import CategoryFactory, FollowFactory, LiveRoomFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def page(client, name, *args, **query):
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def test_home_lists_live_rooms_before_idle_ones(client):
    RoomFactory(title="Quiet room")
    LiveRoomFactory(title="Busy room")

    html = page(client, "home")

    assert html.index("Busy room") < html.index("Quiet room")


def test_category_page_lists_only_its_rooms(client):
    music = CategoryFactory(name="Music", slug="music")
    RoomFactory(title="Piano night", category=music)
    RoomFactory(title="Chess blitz")

    html = page(client, "category", "music")

    assert "Piano night" in html
    assert "Chess blitz" not in html


def test_unknown_category_is_404(client):
    assert client.get(reverse("category", args=["nope"])).status_code == 404


def test_search_finds_rooms_by_title_and_streamers_by_display_name(client):
    RoomFactory(title="Retro speedrun marathon")
    RoomFactory(title="Cooking")
    UserFactory(username="zed", display_name="Speedy Gonzales")

    html = page(client, "search", q="speed")

    assert "Retro speedrun marathon" in html
    assert "Cooking" not in html
    assert "Speedy Gonzales" in html
    assert reverse("profile", args=["zed"]) in html


def test_search_without_query_and_with_huge_page_number_still_answers(client):
    assert page(client, "search")
    assert page(client, "search", q="x" * 5000, page="999999", upage="abc")


def test_room_page_shows_player_chat_and_streamer_card(client):
    room = LiveRoomFactory(title="Night drive")
    FollowFactory(followed=room.owner)

    html = page(client, "room_detail", room.pk)

    assert 'id="player"' in html
    assert f'data-room-id="{room.pk}"' in html
    assert 'data-live="true"' in html
    assert f"{room.public_name}.m3u8" in html
    assert "1 follower" in html
    assert f'data-started-at="{room.streams.get().started_at.isoformat()}"' in html
    assert "Log in to chat" in html


def test_room_page_follow_button_reflects_the_viewers_follow(client, user):
    room = RoomFactory()
    FollowFactory(follower=user, followed=room.owner)
    client.force_login(user)

    html = page(client, "room_detail", room.pk)

    assert f'data-username="{room.owner.username}"' in html
    assert 'data-following="true"' in html
    assert 'data-live="false"' in html


def test_unknown_room_is_404(client):
    assert client.get(reverse("room_detail", args=[999999])).status_code == 404


def test_user_text_is_escaped(client):
    room = RoomFactory(title="<script>alert(1)</script>", owner__display_name="<b>bold</b>")

    for html in (page(client, "home"), page(client, "room_detail", room.pk)):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<b>bold</b>" not in html


def home_query_count(client, rooms: int) -> int:
    Room.objects.all().delete()
    category = CategoryFactory()
    for index in range(rooms):
        factory = LiveRoomFactory if index % 2 else RoomFactory
        factory(category=category)
    with CaptureQueriesContext(connection) as queries:
        page(client, "home")
    return len(queries)


def test_home_query_count_does_not_grow_with_rooms(client):
    assert home_query_count(client, 5) == home_query_count(client, 50)


def test_stream_key_never_appears_in_pages(client):
    room = LiveRoomFactory()
    secret = room.stream_keys.get().secret

    for viewer in (None, room.owner):
        if viewer:
            client.force_login(viewer)
        for html in (
            page(client, "home"),
            page(client, "room_detail", room.pk),
            page(client, "profile", room.owner.username),
            page(client, "search", q=room.title),
        ):
            assert secret not in html
