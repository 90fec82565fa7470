"""Moderation services, room rules and bans as the pipeline reads them, and the word filter."""

import json
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.models import ActivityLog
from chat import services
from chat.archive import outbox_flush
from chat.hub import published_events
from chat.models import ChatBan
from chat.selectors import chat_ban_active, room_chat_rules
from chat.wordfilter import text_blocked, words_parse
from rooms.models import Room
from streamlite.mongo import MESSAGES
from streamlite.redis import keys, redis_sync
from tests.factories import RoomFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- word filter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("buy CHEAP coins", True),
        ("this is fine", False),
        ("你们都是傻瓜吧", True),  # CJK: no spaces, a substring match
        ("Đồ NGU quá", True),  # Vietnamese, upper case with diacritics
        ("do ngu qua", False),  # without the diacritics it is another word
        ("STRASSE", True),  # casefold: ß matches SS
    ],
)
def test_word_filter_matches_plain_words_ignoring_case(text, blocked):
    words = words_parse("cheap\n傻瓜\nđồ ngu\n\n  straße  \n")
    assert text_blocked(text, words) is blocked


def test_word_filter_matches_decomposed_vietnamese():
    # The same word typed with combining accents (NFD) is still caught.
    decomposed = "Đồ ngu".replace("ồ", "o\u0302\u0300")
    assert decomposed != "Đồ ngu"
    assert text_blocked(decomposed, words_parse("đồ ngu"))


def test_word_filter_treats_regex_syntax_as_text_and_stays_fast():
    words = words_parse("(a+)+$\n.*")
    assert not text_blocked("aaaa", words)
    assert text_blocked("see .* here", words)
    started = time.monotonic()
    assert not text_blocked("a" * 200 + "!", words_parse("\n".join(f"(a{n}+)+b" for n in range(500))))
    assert time.monotonic() - started < 0.1


# --- rules and bans as the pipeline reads them ---------------------------------------------------


def test_room_rules_are_cached_and_dropped_on_change(chat_redis_flushed, django_capture_on_commit_callbacks):
    moderator = UserFactory()
    room = RoomFactory(comment_cooldown_ms=1500, blocked_words="Spam\n")
    room.moderators.add(moderator)
    rules = room_chat_rules(room.pk)
    assert rules.allow_comments and rules.cooldown_ms == 1500 and rules.slow_mode_s == 0
    assert rules.words == ("spam",)
    assert rules.owner_id == room.owner_id and rules.moderator_ids == frozenset({moderator.pk})
    assert rules.is_moderator(moderator.pk) and not rules.is_moderator(UserFactory().pk)
    assert 0 < redis_sync().ttl(keys.chat_rules(room.pk)) <= 60
    Room.objects.filter(pk=room.pk).update(allow_comments=False)
    assert room_chat_rules(room.pk) == rules  # cached
    with django_capture_on_commit_callbacks(execute=True):
        services.room_chat_rules_update(
            room=room, by=room.owner, slow_mode_seconds=10, blocked_words=["Free  ", "free", "", "詐欺"]
        )
    fresh = room_chat_rules(room.pk)
    assert not fresh.allow_comments and fresh.slow_mode_s == 10 and fresh.words == ("free", "詐欺")
    assert room_chat_rules(10**9) is None


def test_ban_active_sees_room_and_sitewide_bans_but_not_expired_or_other_rooms(user):
    room, other = RoomFactory(), RoomFactory()
    assert chat_ban_active(user_id=user.pk, room_id=room.pk) is None
    expired = ChatBan.objects.create(user=user, room=room, expires_at=timezone.now() - timedelta(seconds=1))
    ChatBan.objects.create(user=user, room=other)
    assert chat_ban_active(user_id=user.pk, room_id=room.pk) is None
    timeout = ChatBan.objects.create(user=user, room=room, expires_at=timezone.now() + timedelta(minutes=5))
    assert chat_ban_active(user_id=user.pk, room_id=room.pk) == timeout
    sitewide = ChatBan.objects.create(user=user, room=None)
    assert chat_ban_active(user_id=user.pk, room_id=room.pk) == sitewide  # the permanent one first
    assert expired != chat_ban_active(user_id=user.pk, room_id=room.pk)


# --- deletes -------------------------------------------------------------------------------------


def _recent_push(room_id: int, message_id: int) -> None:
    redis_sync().rpush(keys.chat_recent(room_id), json.dumps({"type": "chat", "id": message_id, "text": "x"}))


def test_delete_after_archiving_marks_the_document_and_tells_the_room(
    mongo_archive, outbox_add, django_capture_on_commit_callbacks
):
    room = RoomFactory()
    doc, kept = outbox_add(room_id=room.pk, text="rude"), outbox_add(room_id=room.pk, text="nice")
    outbox_flush(consumer="t")
    _recent_push(room.pk, doc["_id"])
    _recent_push(room.pk, kept["_id"])
    listener = redis_sync().pubsub()
    listener.subscribe(keys.chat_frames(room.pk))
    listener.get_message(timeout=1)  # the subscription's confirmation
    with django_capture_on_commit_callbacks(execute=True):
        services.chat_message_delete(room=room, message_id=doc["_id"], by=room.owner)
    messages = mongo_archive[MESSAGES]
    assert messages.find_one({"_id": doc["_id"]})["deleted"] is True
    assert messages.find_one({"_id": kept["_id"]})["deleted"] is False
    # The message left the recent list; the deletion joined it, for clients resuming past it.
    recent = [json.loads(raw) for raw in redis_sync().lrange(keys.chat_recent(room.pk), 0, -1)]
    assert [(e["type"], e["id"]) for e in recent] == [("chat", kept["_id"]), ("delete", doc["_id"])]
    frame = {"events": published_events(listener.get_message(timeout=2)["data"])}
    assert [(e["type"], e["id"]) for e in frame["events"]] == [("delete", doc["_id"])]
    assert "seq" in frame["events"][0]
    entry = ActivityLog.objects.get(action=ActivityLog.Action.MODERATION)
    assert entry.user == room.owner and entry.detail["message_id"] == doc["_id"]


def test_delete_before_archiving_is_applied_when_the_message_is_archived(mongo_archive, outbox_add):
    room = RoomFactory()
    doc = outbox_add(room_id=room.pk)
    # The pipeline stores an accepted message in the recent list and the outbox in one transaction.
    _recent_push(room.pk, doc["_id"])
    services.chat_message_delete(room=room, message_id=doc["_id"], by=room.owner)
    assert mongo_archive[MESSAGES].count_documents({}) == 0
    outbox_flush(consumer="t")
    assert mongo_archive[MESSAGES].find_one({"_id": doc["_id"]})["deleted"] is True
    # A replay of the same entry later does not bring it back.
    redis_sync().xadd(keys.CHAT_OUTBOX, {"doc": json.dumps(doc)})
    outbox_flush(consumer="t")
    assert mongo_archive[MESSAGES].find_one({"_id": doc["_id"]})["deleted"] is True


def test_a_moderator_cannot_delete_another_rooms_message(mongo_archive, outbox_add):
    room, other = RoomFactory(), RoomFactory()
    archived = outbox_add(room_id=other.pk)
    bystander = outbox_add(room_id=other.pk)
    outbox_flush(consumer="t")  # archives both
    redis_sync().delete(keys.CHAT_OUTBOX)
    with pytest.raises(Http404):
        services.chat_message_delete(room=room, message_id=archived["_id"], by=room.owner)
    assert mongo_archive[MESSAGES].find_one({"_id": archived["_id"]})["deleted"] is False
    unarchived = outbox_add(room_id=other.pk)
    _recent_push(other.pk, unarchived["_id"])
    with pytest.raises(Http404):
        services.chat_message_delete(room=room, message_id=unarchived["_id"], by=room.owner)
    outbox_flush(consumer="t")
    assert mongo_archive[MESSAGES].find_one({"_id": unarchived["_id"]})["deleted"] is False
    assert mongo_archive[MESSAGES].find_one({"_id": bystander["_id"]})["deleted"] is False


def test_delete_of_a_message_that_never_existed_is_refused(chat_redis_flushed, mongo_archive):
    room = RoomFactory()
    with pytest.raises(ValidationError):
        services.chat_message_delete(room=room, message_id=5, by=room.owner)


# --- timeouts, bans, rules, moderators ------------------------------------------------------------


def test_timeout_creates_an_expiring_room_ban_and_closes_the_users_sockets(
    chat_redis_flushed, django_capture_on_commit_callbacks
):
    room, target = RoomFactory(), UserFactory()
    listener = redis_sync().pubsub()
    listener.subscribe(keys.CHAT_CONTROL)
    listener.get_message(timeout=1)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        ban = services.chat_timeout(room=room, user=target, minutes=60, by=room.owner, reason="spam")
    assert ban.room == room and ban.user == target and ban.reason == "spam" and ban.created_by == room.owner
    assert before + timedelta(minutes=60) <= ban.expires_at <= timezone.now() + timedelta(minutes=60)
    assert chat_ban_active(user_id=target.pk, room_id=room.pk) == ban
    assert json.loads(listener.get_message(timeout=2)["data"]) == {
        "close_user": target.pk,
        "room_id": room.pk,
    }
    assert ActivityLog.objects.filter(action=ActivityLog.Action.MODERATION, user=room.owner).exists()


@pytest.mark.parametrize("minutes", [0, 1, 30, 1441])
def test_timeout_lengths_are_5_60_or_1440_minutes(chat_redis_flushed, minutes):
    room = RoomFactory()
    with pytest.raises(ValidationError):
        services.chat_timeout(room=room, user=UserFactory(), minutes=minutes, by=room.owner)
    assert not ChatBan.objects.exists()


def test_room_ban_is_permanent_until_lifted(chat_redis_flushed):
    room, target = RoomFactory(), UserFactory()
    moderator = UserFactory()
    room.moderators.add(moderator)
    ban = services.chat_room_ban(room=room, user=target, by=moderator, reason="abuse")
    assert ban.room == room and ban.expires_at is None
    assert services.chat_room_ban_lift(room=room, user=target, by=moderator) == 1
    assert chat_ban_active(user_id=target.pk, room_id=room.pk) is None
    assert ChatBan.objects.filter(pk=ban.pk).exists()  # kept, ended, as a record


def test_the_owner_cannot_be_banned_in_their_room(chat_redis_flushed):
    room = RoomFactory()
    with pytest.raises(ValidationError):
        services.chat_room_ban(room=room, user=room.owner, by=StaffFactory())


def test_strangers_cannot_moderate(chat_redis_flushed, mongo_archive):
    room, stranger, target = RoomFactory(), UserFactory(), UserFactory()
    for action in [
        lambda: services.chat_timeout(room=room, user=target, minutes=5, by=stranger),
        lambda: services.chat_room_ban(room=room, user=target, by=stranger),
        lambda: services.chat_room_ban_lift(room=room, user=target, by=stranger),
        lambda: services.chat_message_delete(room=room, message_id=1, by=stranger),
        lambda: services.room_chat_rules_update(room=room, by=stranger, allow_comments=False),
        lambda: services.room_moderator_add(room=room, user=target, by=stranger),
    ]:
        with pytest.raises(PermissionDenied):
            action()
    assert not ChatBan.objects.exists()
    assert not ActivityLog.objects.filter(action=ActivityLog.Action.MODERATION).exists()


def test_only_the_owner_or_staff_appoint_moderators(chat_redis_flushed):
    room, moderator, other = RoomFactory(), UserFactory(), UserFactory()
    services.room_moderator_add(room=room, user=moderator, by=room.owner)
    assert room_chat_rules(room.pk).moderator_ids == frozenset({moderator.pk})
    with pytest.raises(PermissionDenied):
        services.room_moderator_add(room=room, user=other, by=moderator)
    services.room_moderator_remove(room=room, user=moderator, by=StaffFactory())
    assert not room.moderators.exists()
    assert ActivityLog.objects.filter(action=ActivityLog.Action.MODERATION).count() == 2


def test_rules_update_refuses_out_of_range_values(chat_redis_flushed):
    room = RoomFactory()
    with pytest.raises(ValidationError):
        services.room_chat_rules_update(room=room, by=room.owner, blocked_words=[f"w{n}" for n in range(501)])


def test_another_rooms_message_id_through_the_api_is_not_found(mongo_archive, outbox_add):
    from rest_framework.test import APIClient

    room, other = RoomFactory(), RoomFactory()
    archived = outbox_add(room_id=other.pk)
    outbox_flush(consumer="t")
    api = APIClient()
    api.force_authenticate(room.owner)

    response = api.post(
        f"/api/rooms/{room.pk}/moderation/delete/", {"message_id": archived["_id"]}, format="json"
    )

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert mongo_archive[MESSAGES].find_one({"_id": archived["_id"]})["deleted"] is False


def test_a_banned_moderator_cannot_lift_their_own_ban(chat_redis_flushed):
    room, moderator = RoomFactory(), UserFactory()
    room.moderators.add(moderator)
    services.chat_room_ban(room=room, user=moderator, by=room.owner)

    with pytest.raises(PermissionDenied):
        services.chat_room_ban_lift(room=room, user=moderator, by=moderator)

    assert chat_ban_active(user_id=moderator.pk, room_id=room.pk) is not None


@pytest.mark.parametrize("target_kind", ["staff", "owner", "moderator"])
def test_a_moderator_cannot_ban_or_time_out_staff_the_owner_or_a_fellow_moderator(
    chat_redis_flushed, target_kind
):
    room, moderator = RoomFactory(), UserFactory()
    room.moderators.add(moderator)
    target = {"staff": StaffFactory, "owner": lambda: room.owner, "moderator": UserFactory}[target_kind]()
    if target_kind == "moderator":
        room.moderators.add(target)

    for action in [
        lambda: services.chat_room_ban(room=room, user=target, by=moderator),
        lambda: services.chat_timeout(room=room, user=target, minutes=5, by=moderator),
    ]:
        with pytest.raises((PermissionDenied, ValidationError)):
            action()

    assert not ChatBan.objects.exists()


def test_the_owner_may_still_ban_their_moderator(chat_redis_flushed):
    room, moderator = RoomFactory(), UserFactory()
    room.moderators.add(moderator)

    ban = services.chat_room_ban(room=room, user=moderator, by=room.owner)

    assert ban.user == moderator


@pytest.mark.parametrize(
    "text", ["sp\u200bam", "ｓｐａｍ", "sp\u00adam", "S\u200dP\u2060AM now", "\ufeffspam"]
)
def test_word_filter_sees_through_invisible_and_full_width_characters(text):
    assert text_blocked(text, words_parse("spam"))
