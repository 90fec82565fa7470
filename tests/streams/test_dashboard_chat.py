from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import ChatBan
from chat.selectors import chat_ban_active, room_chat_rules
from chat.services import chat_room_ban, chat_timeout
from rooms.models import Room
from tests.factories import RoomFactory, UserFactory

DASHBOARD = "/dashboard/"
CHAT_SETTINGS = "/dashboard/chat-settings/"
MODERATOR_ADD = "/dashboard/moderators/add/"

pytestmark = pytest.mark.django_db


def moderator_remove_url(username: str) -> str:
    return f"/dashboard/moderators/{username}/remove/"


def ban_lift_url(username: str) -> str:
    return f"/dashboard/bans/{username}/lift/"


def settings_data(**overrides) -> dict:
    data = {
        "allow_comments": "on",
        "slow_mode_seconds": "0",
        "comment_cooldown_ms": "1000",
        "blocked_words": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def room(user):
    return RoomFactory(owner=user)


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


def test_dashboard_shows_the_chat_section_with_current_rules(owner_client, room):
    Room.objects.filter(pk=room.pk).update(slow_mode_seconds=30, blocked_words="spoiler")
    moderator = UserFactory(username="helper")
    room.moderators.add(moderator)

    response = owner_client.get(DASHBOARD)

    body = response.content.decode()
    assert response.status_code == 200
    assert 'action="/dashboard/chat-settings/"' in body
    assert 'name="slow_mode_seconds" value="30"' in body
    assert "spoiler</textarea>" in body
    assert 'action="/dashboard/moderators/helper/remove/"' in body
    assert 'action="/dashboard/moderators/add/"' in body


def test_owner_saves_chat_settings_and_the_cached_rules_follow(
    owner_client, room, django_capture_on_commit_callbacks
):
    assert room_chat_rules(room.pk).allow_comments is True  # now cached in Redis

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            CHAT_SETTINGS,
            settings_data(
                allow_comments=None,
                slow_mode_seconds="20",
                comment_cooldown_ms="2500",
                blocked_words="Spoiler\n\n  scam link  \nspoiler",
            ),
            follow=True,
        )

    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert "Your chat settings were saved." in response.content.decode()
    rules = room_chat_rules(room.pk)
    assert rules.allow_comments is False
    assert rules.slow_mode_s == 20
    assert rules.cooldown_ms == 2500
    assert rules.words == ("spoiler", "scam link")
    room.refresh_from_db()
    assert room.blocked_words == "spoiler\nscam link"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slow_mode_seconds": "3601"}, "slow_mode_seconds"),
        ({"slow_mode_seconds": "-1"}, "slow_mode_seconds"),
        ({"comment_cooldown_ms": "60001"}, "comment_cooldown_ms"),
        ({"comment_cooldown_ms": "fast"}, "comment_cooldown_ms"),
        ({"blocked_words": "x" * 51}, "blocked_words"),
        ({"blocked_words": "\n".join(f"word{n}" for n in range(201))}, "blocked_words"),
    ],
)
def test_invalid_chat_settings_show_form_errors_and_save_nothing(owner_client, room, overrides, field):
    response = owner_client.post(CHAT_SETTINGS, settings_data(allow_comments=None, **overrides))

    assert response.status_code == 200
    assert response.context["chat_form"].errors[field]
    assert 'class="field__error"' in response.content.decode()
    saved = Room.objects.get(pk=room.pk)
    assert (
        saved.allow_comments,
        saved.slow_mode_seconds,
        saved.comment_cooldown_ms,
        saved.blocked_words,
    ) == (
        True,
        0,
        1000,
        "",
    )


def test_limits_themselves_are_accepted(owner_client, room):
    words = "\n".join(f"{n:03d}" + "w" * 47 for n in range(200))
    response = owner_client.post(
        CHAT_SETTINGS,
        settings_data(slow_mode_seconds="3600", comment_cooldown_ms="60000", blocked_words=words),
    )

    assert response.status_code == 302
    saved = Room.objects.get(pk=room.pk)
    assert (saved.slow_mode_seconds, saved.comment_cooldown_ms) == (3600, 60000)
    assert len(saved.blocked_words.splitlines()) == 200


def test_owner_adds_and_removes_a_moderator(owner_client, room, django_capture_on_commit_callbacks):
    helper = UserFactory(username="Helper")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(MODERATOR_ADD, {"username": "helper"}, follow=True)
    assert "Helper now moderates your chat." in response.content.decode()
    assert list(room.moderators.all()) == [helper]
    assert room_chat_rules(room.pk).is_moderator(helper.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(moderator_remove_url("Helper"), follow=True)
    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert "Helper no longer moderates your chat." in response.content.decode()
    assert not room.moderators.exists()
    assert not room_chat_rules(room.pk).is_moderator(helper.pk)


@pytest.mark.parametrize("username", ["nobody-here", ""])
def test_adding_an_unknown_username_is_a_form_error(owner_client, room, username):
    response = owner_client.post(MODERATOR_ADD, {"username": username})

    assert response.status_code == 200
    assert response.context["moderator_form"].errors["username"]
    assert not room.moderators.exists()


def test_owner_cannot_add_themselves(owner_client, room, user):
    response = owner_client.post(MODERATOR_ADD, {"username": user.username})

    assert response.status_code == 200
    assert response.context["moderator_form"].errors["username"] == [
        "The owner already moderates their room."
    ]
    assert not room.moderators.exists()


def test_removing_someone_who_is_not_a_moderator_is_404(owner_client, room):
    UserFactory(username="stranger")

    assert owner_client.post(moderator_remove_url("stranger")).status_code == 404


def test_active_bans_are_listed_and_lifted(owner_client, room, user):
    troll, spammer, forgiven = UserFactory(username="troll"), UserFactory(username="spammer"), UserFactory()
    chat_room_ban(room=room, user=troll, by=user, reason="<b>rude</b>")
    chat_timeout(room=room, user=spammer, minutes=5, by=user)
    ChatBan.objects.create(room=room, user=forgiven, expires_at=timezone.now() - timedelta(minutes=1))

    body = owner_client.get(DASHBOARD).content.decode()
    assert 'action="/dashboard/bans/troll/lift/"' in body
    assert 'action="/dashboard/bans/spammer/lift/"' in body
    assert f'action="/dashboard/bans/{forgiven.username}/lift/"' not in body
    assert "&lt;b&gt;rude&lt;/b&gt;" in body

    response = owner_client.post(ban_lift_url("troll"), follow=True)

    assert "troll may chat in your room again." in response.content.decode()
    assert chat_ban_active(user_id=troll.pk, room_id=room.pk) is None
    assert chat_ban_active(user_id=spammer.pk, room_id=room.pk) is not None


def test_another_user_changes_only_their_own_room(client, room):
    other = UserFactory()
    other_room = RoomFactory(owner=other)
    helper = UserFactory(username="helper")
    room.moderators.add(helper)
    chat_room_ban(room=room, user=UserFactory(username="troll"), by=room.owner)
    client.force_login(other)

    client.post(CHAT_SETTINGS, settings_data(allow_comments=None, slow_mode_seconds="60"))
    client.post(MODERATOR_ADD, {"username": room.owner.username})
    assert client.post(moderator_remove_url("helper")).status_code == 404
    client.post(ban_lift_url("troll"))

    room.refresh_from_db()
    other_room.refresh_from_db()
    assert (room.allow_comments, room.slow_mode_seconds) == (True, 0)
    assert (other_room.allow_comments, other_room.slow_mode_seconds) == (False, 60)
    assert list(room.moderators.all()) == [helper]
    assert list(other_room.moderators.all()) == [room.owner]
    assert ChatBan.objects.get(user__username="troll").expires_at is None


def test_a_user_without_a_room_gets_404_everywhere(client, room):
    room.moderators.add(UserFactory(username="helper"))
    client.force_login(UserFactory())

    assert client.post(CHAT_SETTINGS, settings_data(slow_mode_seconds="60")).status_code == 404
    assert client.post(MODERATOR_ADD, {"username": "helper"}).status_code == 404
    assert client.post(moderator_remove_url("helper")).status_code == 404
    assert client.post(ban_lift_url("helper")).status_code == 404
    assert Room.objects.get(pk=room.pk).slow_mode_seconds == 0
    assert room.moderators.count() == 1


@pytest.mark.parametrize(
    "url", [CHAT_SETTINGS, MODERATOR_ADD, moderator_remove_url("helper"), ban_lift_url("helper")]
)
def test_anonymous_is_sent_to_login(client, url):
    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize(
    "url", [CHAT_SETTINGS, MODERATOR_ADD, moderator_remove_url("helper"), ban_lift_url("helper")]
)
def test_get_on_post_only_urls_is_405(owner_client, room, url):
    assert owner_client.get(url).status_code == 405
