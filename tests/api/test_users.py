import pytest

from accounts.models import User
from rooms.models import Follow
from tests.api.conftest import assert_error
from tests.factories import FollowFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_profile_shows_public_fields_counts_and_rooms(api):
    streamer = UserFactory(bio="Speedruns")
    room = RoomFactory(owner=streamer)
    FollowFactory(followed=streamer)
    FollowFactory(followed=streamer)
    FollowFactory(follower=streamer)
    response = api.get(f"/api/users/{streamer.username}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "username",
        "display_name",
        "avatar_url",
        "bio",
        "follower_count",
        "following_count",
        "rooms",
    }
    assert (body["bio"], body["follower_count"], body["following_count"]) == ("Speedruns", 2, 1)
    assert [r["id"] for r in body["rooms"]] == [room.pk]
    assert streamer.email not in response.content.decode()


@pytest.mark.parametrize("username", ["nobody", "bad%00name", "x" * 300])
def test_profile_of_an_unknown_user_is_404(api, username):
    assert_error(api.get(f"/api/users/{username}/"), 404, "not_found")


def test_profile_of_a_deactivated_user_is_404(api):
    gone = UserFactory(is_active=False)
    assert_error(api.get(f"/api/users/{gone.username}/"), 404)


def test_follow_then_follow_again_keeps_one_follow(auth_api, user):
    streamer = UserFactory()
    client = auth_api(user)
    assert client.post(f"/api/users/{streamer.username}/follow/").status_code == 204
    assert client.post(f"/api/users/{streamer.username}/follow/").status_code == 204
    assert Follow.objects.filter(follower=user, followed=streamer).count() == 1


def test_unfollow_removes_the_follow_and_is_fine_when_not_following(auth_api, user):
    streamer = UserFactory()
    FollowFactory(follower=user, followed=streamer)
    client = auth_api(user)
    assert client.delete(f"/api/users/{streamer.username}/follow/").status_code == 204
    assert not Follow.objects.filter(follower=user, followed=streamer).exists()
    assert client.delete(f"/api/users/{streamer.username}/follow/").status_code == 204


def test_following_yourself_is_refused_with_a_message(auth_api, user):
    error = assert_error(auth_api(user).post(f"/api/users/{user.username}/follow/"), 400, "self_follow")
    assert "yourself" in error["message"]
    assert not Follow.objects.exists()


def test_following_an_unknown_user_is_404(auth_api, user):
    assert_error(auth_api(user).post("/api/users/ghost/follow/"), 404)


def test_following_needs_authentication(api):
    streamer = UserFactory()
    assert_error(api.post(f"/api/users/{streamer.username}/follow/"), 401)
    assert not Follow.objects.exists()
    assert User.objects.count() == 1
