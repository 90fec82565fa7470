from collections.abc import Callable
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.activity import activity_record
from accounts.models import DEFAULT_LADDER_TEXT, ActivityLog, Plan, SiteSettings, StreamerApplication, User
from accounts.services import site_settings_get, streamer_application_submit, user_may_stream
from chat.models import ChatBan, Emote, EmoteUse, LevelProgress, PinnedMessage
from chat.services import chat_ban_create
from clips.models import Clip
from notifications.models import EmailAlert, Notification
from relay.keys import key_encrypt
from relay.models import Destination, Playout
from rooms.models import Category, Follow, Room, StreamKey, Tag
from schedule.models import Reminder, ScheduledStream
from streams.models import RoomRecord, Stream, ViewerSample
from tests.chat.test_emotes import emote_of
from tests.factories import (
    CategoryFactory,
    FollowFactory,
    LiveRoomFactory,
    RoomFactory,
    StreamFactory,
    TagFactory,
    UserFactory,
    VodFactory,
)
from vod.models import Vod, VodRendition
from webhooks.models import Delivery, Endpoint

OUR_APPS = (
    "accounts",
    "rooms",
    "streams",
    "chat",
    "vod",
    "clips",
    "schedule",
    "notifications",
    "webhooks",
    "relay",
)


# One way to build a row of every model the admin shows; a newly registered model without one fails
# test_every_registered_model_has_a_builder, so nothing registered goes untested.
BUILDERS: dict[type[Model], Callable[[], Model]] = {
    Group: lambda: Group.objects.create(name=f"group {Group.objects.count()}"),
    User: UserFactory,
    SiteSettings: site_settings_get,
    StreamerApplication: lambda: streamer_application_submit(user=UserFactory(), message="Let me stream"),
    ActivityLog: lambda: activity_record(action=ActivityLog.Action.LOGIN, user=UserFactory()),
    Category: CategoryFactory,
    Tag: TagFactory,
    Room: RoomFactory,
    StreamKey: lambda: RoomFactory().stream_keys.get(),
    Follow: FollowFactory,
    Emote: lambda: emote_of(room=None, name=f"site_{Emote.objects.count()}"),
    EmoteUse: lambda: EmoteUse.objects.create(
        emote=emote_of(room=RoomFactory(), name="used"), room=RoomFactory()
    ),
    PinnedMessage: lambda: PinnedMessage.objects.create(
        room=RoomFactory(), message_id=1, message={"id": 1, "user": {}, "text": "pinned", "kind": "chat"}
    ),
    LevelProgress: lambda: LevelProgress.objects.create(user=UserFactory(), watch_minutes=30),
    Stream: StreamFactory,
    RoomRecord: lambda: LiveRoomFactory().records.get(),
    ViewerSample: lambda: ViewerSample.objects.create(stream=StreamFactory(), at=timezone.now(), viewers=3),
    ChatBan: lambda: chat_ban_create(user=UserFactory(), room=RoomFactory(), by=None, reason="spam"),
    Vod: VodFactory,
    VodRendition: lambda: VodRendition.objects.create(
        vod=VodFactory(), name="480p", height=480, video_kbps=1000, audio_kbps=96
    ),
    Clip: lambda: Clip.objects.create(
        room=RoomFactory(), created_by=UserFactory(), title="A clip", source="live", requested_s=10
    ),
    Notification: lambda: Notification.objects.create(
        recipient=UserFactory(), kind=Notification.Kind.SYSTEM, message="Welcome"
    ),
    EmailAlert: lambda: EmailAlert.objects.create(
        recipient=UserFactory(),
        streamer=UserFactory(),
        kind=Notification.Kind.NEW_VOD,
        vod=VodFactory(),
        due_at=timezone.now(),
    ),
    ScheduledStream: lambda: ScheduledStream.objects.create(
        room=RoomFactory(), title="Friday", starts_at=timezone.now() + timedelta(days=1)
    ),
    Reminder: lambda: Reminder.objects.create(
        user=UserFactory(),
        scheduled=ScheduledStream.objects.create(
            room=RoomFactory(), title="Friday", starts_at=timezone.now() + timedelta(days=1)
        ),
    ),
    Endpoint: lambda: Endpoint.objects.create(
        owner=UserFactory(), url="https://hooks.example.com/in", events=["stream.started"]
    ),
    Delivery: lambda: Delivery.objects.create(
        endpoint=Endpoint.objects.create(owner=UserFactory(), url="https://hooks.example.com/in", events=[]),
        event="stream.started",
        payload={"id": "x"},
    ),
    Plan: lambda: Plan.objects.create(name=f"plan {Plan.objects.count()}"),
    Destination: lambda: Destination.objects.create(
        room=RoomFactory(),
        name="YouTube",
        url="rtmp://a.rtmp.youtube.com/live2",
        key_encrypted=key_encrypt("k"),
    ),
    Playout: lambda: Playout.objects.create(
        room=RoomFactory(), vod=VodFactory(), title="Rerun", starts_at=timezone.now()
    ),
    # django-axes' records of log-ins and lockouts.
    AccessAttempt: lambda: AccessAttempt.objects.create(
        username="someone", ip_address="203.0.113.5", failures_since_start=3, get_data="", post_data=""
    ),
    AccessFailureLog: lambda: AccessFailureLog.objects.create(username="someone", ip_address="203.0.113.5"),
    AccessLog: lambda: AccessLog.objects.create(username="someone", ip_address="203.0.113.5"),
}
REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def admin_url(model: type[Model], view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def model_id(model_and_admin) -> str:
    return model_and_admin[0]._meta.label


def run_action(client, model: type[Model], action: str, objects, **extra):
    return client.post(
        admin_url(model, "changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
        follow=True,
    )


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_every_model_of_our_apps_is_registered():
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model._meta.label


def test_every_registered_model_has_a_builder():
    assert set(admin.site._registry) <= set(BUILDERS)


def test_the_jwt_blacklist_tables_are_not_in_the_admin():
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    assert not admin.site.is_registered(OutstandingToken)
    assert not admin.site.is_registered(BlacklistedToken)


def test_admin_site_is_branded():
    assert admin.site.site_header == "StreamLite staff"


@pytest.mark.django_db
@pytest.mark.parametrize("model_and_admin", REGISTERED, ids=model_id)
def test_staff_open_changelist_add_and_change_pages(staff_client, staff, model_and_admin):
    model, model_admin = model_and_admin
    obj = BUILDERS[model]()

    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    assert staff_client.get(admin_url(model, "change", obj.pk)).status_code == 200
    add = staff_client.get(admin_url(model, "add"))
    request = add.wsgi_request
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.django_db
@pytest.mark.parametrize("model_and_admin", REGISTERED, ids=model_id)
def test_non_staff_are_sent_to_the_admin_login(client, user, model_and_admin):
    model, _ = model_and_admin
    obj = BUILDERS[model]()
    client.force_login(user)
    login = reverse("admin:login")
    for url in (admin_url(model, "changelist"), admin_url(model, "add"), admin_url(model, "change", obj.pk)):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url


@pytest.mark.django_db
def test_anonymous_admin_index_redirects_to_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model_and_admin", [item for item in REGISTERED if item[0]._meta.app_label in OUR_APPS], ids=model_id
)
def test_changelist_query_count_does_not_grow_with_rows(staff_client, model_and_admin):
    model, _ = model_and_admin
    url = admin_url(model, "changelist")
    BUILDERS[model]()
    staff_client.get(url)  # warm per-process caches (content types, site settings)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(url).status_code == 200
    for _ in range(4):
        BUILDERS[model]()
    with CaptureQueriesContext(connection) as many:
        assert staff_client.get(url).status_code == 200
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]


# --- stream keys never in clear ---------------------------------------------------------------


@pytest.mark.django_db
def test_room_and_stream_key_pages_never_show_the_secret(staff_client):
    room = RoomFactory()
    secret = room.stream_keys.get().secret
    pages = [
        admin_url(Room, "changelist"),
        admin_url(Room, "change", room.pk),
        admin_url(StreamKey, "changelist"),
        admin_url(StreamKey, "change", room.stream_keys.get().pk),
        admin_url(Room, "changelist") + f"?q={room.title}",
    ]
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode(), url
    assert "sk_••••" in staff_client.get(admin_url(Room, "change", room.pk)).content.decode()


@pytest.mark.django_db
def test_reset_stream_key_action_revokes_the_old_key_without_showing_either(staff_client, staff):
    room = RoomFactory()
    old = room.stream_keys.get()

    response = run_action(staff_client, Room, "reset_stream_key", [room])

    assert response.status_code == 200
    old.refresh_from_db()
    assert old.revoked_at is not None
    new = StreamKey.objects.get(room=room, revoked_at__isnull=True)
    assert new.secret != old.secret
    page = response.content.decode()
    assert old.secret not in page and new.secret not in page
    assert ActivityLog.objects.filter(action=ActivityLog.Action.STREAM_KEY_RESET, user=staff).exists()


@pytest.mark.django_db
def test_a_room_added_by_staff_gets_a_stream_key(staff_client, user):
    response = staff_client.post(
        admin_url(Room, "add"),
        {
            "owner": user.pk,
            "title": "Staff-made room",
            "description": "",
            "allow_comments": "on",
            "comment_cooldown_ms": 1000,
            "slow_mode_seconds": 0,
            "danmaku_style_min_level": 0,
            "slow_mode_min_level": 0,
            "stream_keys-TOTAL_FORMS": 0,
            "stream_keys-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    room = Room.objects.get(title="Staff-made room")
    assert StreamKey.objects.filter(room=room, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_staff_can_delete_a_room_with_its_keys_and_streams(staff_client):
    room = LiveRoomFactory()

    response = staff_client.post(admin_url(Room, "delete", room.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Room.objects.filter(pk=room.pk).exists()
    assert not StreamKey.objects.filter(room_id=room.pk).exists()


# --- other actions ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_end_live_streams_action_ends_the_stream_and_idles_the_room(staff_client, staff):
    room = LiveRoomFactory()
    stream = room.streams.get()

    run_action(staff_client, Stream, "end_live_streams", [stream])

    stream.refresh_from_db()
    room.refresh_from_db()
    assert stream.status == Stream.Status.ENDED
    assert stream.end_reason == "staff"
    assert room.status == Room.Status.IDLE
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.STAFF_ACTION, user=staff, detail__what="stream_end"
    ).exists()


@pytest.mark.django_db
def test_end_live_stream_room_action_ends_only_live_rooms(staff_client):
    live, idle = LiveRoomFactory(), RoomFactory()

    run_action(staff_client, Room, "end_live_stream", [live, idle])

    live.refresh_from_db()
    assert live.status == Room.Status.IDLE
    assert not Stream.objects.filter(status=Stream.Status.LIVE).exists()
    assert not Stream.objects.filter(room=idle).exists()


@pytest.mark.django_db
def test_ban_from_chat_sitewide_action_creates_one_sitewide_ban(staff_client, staff):
    target = UserFactory()

    run_action(staff_client, User, "ban_from_chat_sitewide", [target])
    run_action(staff_client, User, "ban_from_chat_sitewide", [target])

    ban = ChatBan.objects.get(user=target)
    assert ban.room is None
    assert ban.expires_at is None
    assert ban.created_by == staff
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.STAFF_ACTION, user=staff, detail__what="chat_ban_sitewide"
    ).exists()


@pytest.mark.django_db
def test_staff_cannot_ban_themselves(staff_client, staff):
    run_action(staff_client, User, "ban_from_chat_sitewide", [staff])
    assert not ChatBan.objects.filter(user=staff).exists()


@pytest.mark.django_db
def test_banning_again_keeps_the_ban_that_already_lasts_as_long(staff):
    target = UserFactory()
    soon = timezone.now() + timedelta(minutes=10)
    first = chat_ban_create(user=target, by=staff, expires_at=soon)
    again = chat_ban_create(user=target, by=staff, expires_at=soon - timedelta(minutes=1))
    forever = chat_ban_create(user=target, by=staff)
    assert again == first
    assert forever != first and forever.expires_at is None


@pytest.mark.django_db
def test_chat_ban_add_form_creates_a_sitewide_ban_through_the_service(staff_client, staff):
    target = UserFactory()

    response = staff_client.post(
        admin_url(ChatBan, "add"), {"user": target.pk, "room": "", "reason": "spam", "expires_at_0": ""}
    )

    assert response.status_code == 302
    ban = ChatBan.objects.get(user=target)
    assert (ban.room, ban.reason, ban.created_by) == (None, "spam", staff)
    assert ActivityLog.objects.filter(action=ActivityLog.Action.MODERATION, user=staff).exists()


@pytest.mark.django_db
def test_hide_vods_action_hides_them(staff_client, staff):
    vod = VodFactory()

    run_action(staff_client, Vod, "hide", [vod])

    vod.refresh_from_db()
    assert vod.status == Vod.Status.HIDDEN
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.STAFF_ACTION, detail__what="vod_hide"
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "status", "may_stream"), [("approve", "approved", True), ("reject", "rejected", False)]
)
def test_deciding_an_application_sets_status_note_and_streaming_right(
    staff_client, staff, action, status, may_stream
):
    settings_row = site_settings_get()
    settings_row.streamers_need_approval = True
    settings_row.save()
    application = streamer_application_submit(user=UserFactory(), message="I stream chess")

    run_action(staff_client, StreamerApplication, action, [application], note="Looks fine")

    application.refresh_from_db()
    assert application.status == status
    assert application.staff_note == "Looks fine"
    assert application.decided_by == staff
    assert user_may_stream(user=application.user) is may_stream
    assert ActivityLog.objects.filter(
        action=ActivityLog.Action.STAFF_ACTION, detail__what=f"streamer_application_{action}"
    ).exists()


@pytest.mark.django_db
def test_staff_note_is_editable_on_the_application_page(staff_client):
    application = streamer_application_submit(user=UserFactory(), message="hi")

    staff_client.post(admin_url(StreamerApplication, "change", application.pk), {"staff_note": "call them"})

    application.refresh_from_db()
    assert application.staff_note == "call them"
    assert application.status == StreamerApplication.Status.PENDING


# --- the singleton and the read-only log ------------------------------------------------------


@pytest.mark.django_db
def test_site_settings_cannot_be_added_twice_or_deleted(staff_client):
    row = site_settings_get()
    assert staff_client.get(admin_url(SiteSettings, "add")).status_code == 403
    assert staff_client.post(admin_url(SiteSettings, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert SiteSettings.objects.count() == 1


@pytest.mark.django_db
def test_site_settings_added_in_the_admin_is_the_row_services_read(staff_client):
    response = staff_client.post(
        admin_url(SiteSettings, "add"),
        {"streamers_need_approval": "on", "ladder": DEFAULT_LADDER_TEXT, "ladder_max_streams": 1},
    )
    assert response.status_code == 302
    assert site_settings_get().streamers_need_approval is True
    assert SiteSettings.objects.count() == 1


@pytest.mark.django_db
def test_activity_log_is_read_only(staff_client):
    entry = activity_record(action=ActivityLog.Action.LOGIN, user=UserFactory())
    change_url = admin_url(ActivityLog, "change", entry.pk)

    assert staff_client.post(change_url, {"action": "logout"}).status_code == 403
    assert staff_client.post(admin_url(ActivityLog, "delete", entry.pk), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == ActivityLog.Action.LOGIN


@pytest.mark.django_db
def test_activity_log_search_by_username_ip_and_attempted_name(staff_client):
    alice = UserFactory(username="alice")
    activity_record(action=ActivityLog.Action.LOGIN, user=alice)
    ActivityLog.objects.create(action=ActivityLog.Action.LOGIN_FAILED, ip_address="10.9.8.7")
    ActivityLog.objects.create(action=ActivityLog.Action.LOGIN_FAILED, detail={"username": "mallory"})
    url = admin_url(ActivityLog, "changelist")

    def found(query: str) -> int:
        response = staff_client.get(url, {"q": query})
        assert response.status_code == 200
        return response.context["cl"].result_count

    assert found("alice") == 1
    assert found("10.9.8") == 1
    assert found("mallory") == 1
    assert found("nobody") == 0
    assert staff_client.get(url, {"action__exact": "login_failed"}).context["cl"].result_count == 2
