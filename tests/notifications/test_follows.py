import pytest
from django.test import Client, RequestFactory

from notifications.models import Notification
from rooms.models import Follow
from tests.factories import PASSWORD, FollowFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db

# What follow.js sends; the API parses JSON only.
JSON = "application/json"


def follow_url(user) -> str:
    return f"/api/users/{user.username}/follow/"


@pytest.fixture
def browser(user):
    """A logged-in browser session that enforces CSRF like a real one."""
    client = Client(enforce_csrf_checks=True)
    assert client.login(
        request=RequestFactory().post("/accounts/login/"), username=user.username, password=PASSWORD
    )
    return client


def csrf_token(client) -> str:
    client.get("/")  # the page sets the csrftoken cookie, as the room and profile pages do
    return client.cookies["csrftoken"].value


def test_session_follow_needs_the_csrf_token_and_works_with_it(browser, user):
    streamer = UserFactory()
    assert browser.post(follow_url(streamer), content_type=JSON).status_code == 403
    assert not Follow.objects.exists()
    response = browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=csrf_token(browser))
    assert response.status_code == 204
    assert Follow.objects.get(follower=user, followed=streamer).notify is True


def test_bell_turns_alerts_off_and_on(browser, user):
    streamer = UserFactory()
    FollowFactory(follower=user, followed=streamer)
    token = csrf_token(browser)
    response = browser.patch(
        follow_url(streamer), {"notify": False}, content_type=JSON, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200
    assert response.json() == {"notify": False, "email_live": False, "email_vod": False}
    assert Follow.objects.get().notify is False
    browser.patch(follow_url(streamer), {"notify": True}, content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert Follow.objects.get().notify is True


@pytest.mark.parametrize("body", [{}, {"notify": "maybe"}, {"notify": None}, []])
def test_bell_refuses_bad_input_with_a_message(browser, user, body):
    streamer = UserFactory()
    FollowFactory(follower=user, followed=streamer)
    response = browser.patch(
        follow_url(streamer), body, content_type=JSON, HTTP_X_CSRFTOKEN=csrf_token(browser)
    )
    assert response.status_code == 400 and response.json()["error"]["message"]
    assert Follow.objects.get().notify is True


def test_bell_of_a_follow_that_does_not_exist_is_404(browser):
    streamer = UserFactory()
    token = csrf_token(browser)
    for url in (follow_url(streamer), "/api/users/ghost/follow/"):
        response = browser.patch(url, {"notify": False}, content_type=JSON, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 404 and response.json()["error"]["message"]


def test_self_follow_twice_unknown_and_unfollow_when_not_following(browser, user):
    token = csrf_token(browser)
    streamer = UserFactory()
    refused = browser.post(follow_url(user), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert refused.status_code == 400 and "yourself" in refused.json()["error"]["message"]
    assert browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token).status_code == 204
    assert browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token).status_code == 204
    assert Follow.objects.filter(follower=user).count() == 1
    assert (
        browser.post("/api/users/ghost/follow/", content_type=JSON, HTTP_X_CSRFTOKEN=token).status_code == 404
    )
    assert (
        browser.delete(follow_url(UserFactory()), content_type=JSON, HTTP_X_CSRFTOKEN=token).status_code
        == 204
    )


def test_a_new_follower_is_announced_once(browser, user, celery_eager, django_capture_on_commit_callbacks):
    streamer = UserFactory()
    token = csrf_token(browser)
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token)
        browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    # Unfollowing and following again while the first alert is unread adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        browser.delete(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token)
        browser.post(follow_url(streamer), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    alert = Notification.objects.get(recipient=streamer)
    assert (alert.kind, alert.actor_id) == (Notification.Kind.NEW_FOLLOWER, user.pk)
    assert not Notification.objects.filter(recipient=user).exists()


def test_vod_ready_reaches_every_follower_once(celery_eager, django_capture_on_commit_callbacks):
    from streamlite.events import send_on_commit
    from tests.factories import VodFactory
    from vod.models import Vod
    from vod.signals import vod_ready

    room = RoomFactory()
    followers = {FollowFactory(followed=room.owner, notify=n % 2 == 0).follower_id for n in range(3)}
    vod = VodFactory(room=room)
    with django_capture_on_commit_callbacks(execute=True):
        send_on_commit(vod_ready, sender=Vod, vod_id=vod.pk)
        send_on_commit(vod_ready, sender=Vod, vod_id=vod.pk)
    alerts = Notification.objects.filter(kind=Notification.Kind.NEW_VOD, vod=vod)
    assert set(alerts.values_list("recipient_id", flat=True)) == followers
    assert alerts.count() == 3


def test_room_and_profile_pages_wire_the_follow_button(client, user):
    room = RoomFactory()
    FollowFactory(follower=user, followed=room.owner, notify=False)
    FollowFactory(followed=room.owner)
    client.force_login(user)
    for url in (f"/rooms/{room.pk}/", f"/u/{room.owner.username}/"):
        body = client.get(url).content.decode()
        assert 'data-following="true"' in body and 'data-notify="false"' in body
        assert 'data-count-not-following="1"' in body
        assert 'data-count-following="2"' in body
        assert "js/follow." in body and "js/notifications." in body
