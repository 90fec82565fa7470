"""Plans' limits and expiry, and playout approval in the admin (seed 003's packages and stream requests)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import ActivityLog, Plan, SiteSettings
from accounts.plans import plans_expire, user_plan, user_plan_set
from accounts.services import SITE_SETTINGS_PK
from notifications.models import Notification
from relay import selectors, services
from relay.models import Playout
from tests.api.conftest import assert_error
from tests.factories import PASSWORD, RoomFactory, VodFactory

pytestmark = pytest.mark.django_db


def plan(**limits) -> Plan:
    return Plan.objects.create(name=f"plan-{len(limits)}-{sorted(limits.items())}"[:50], **limits)


def test_the_seeded_plans_exist_with_starter_as_default():
    names = set(Plan.objects.values_list("name", flat=True))
    assert {"starter", "creator", "pro"} <= names
    assert Plan.objects.get(is_default=True).name == "starter"


def test_destinations_beyond_the_plan_are_refused(auth_api, allow_loopback):
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=plan(destinations_per_room=1))
    client = auth_api(room.owner)
    url = f"/api/rooms/{room.pk}/destinations/"
    first = client.post(
        url, {"name": "A", "url": "rtmp://127.0.0.1/app", "key": "key_0123456789"}, format="json"
    )
    assert first.status_code == 201
    second = client.post(
        url, {"name": "B", "url": "rtmp://127.0.0.1/app", "key": "key_0123456789"}, format="json"
    )
    assert_error(second, 400, code="plan_limit")


def test_playout_hours_beyond_the_plan_are_refused():
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=plan(playout_hours_per_month=1))
    vod = VodFactory(room=room, playlist_path="vods/1/x/index.m3u8")
    now = timezone.now()
    Playout.objects.create(
        room=room, vod=vod, title="earlier", starts_at=now, state=Playout.State.ENDED,
        started_at=now - timedelta(minutes=61), ended_at=now - timedelta(seconds=1),
    )  # fmt: skip
    if now.day == 1 and now.hour == 0 and now.minute < 62:
        pytest.skip("the earlier playout would fall into last month")
    with pytest.raises(ValidationError) as refused:
        services.playout_create(user=room.owner, room=room, vod=vod, starts_at=now)
    assert refused.value.code == "plan_limit"


def test_an_expired_plan_falls_back_to_the_default_and_is_logged():
    room = RoomFactory()
    pro = Plan.objects.get(name="pro")
    user_plan_set(user=room.owner, plan=pro, expires_at=timezone.now() + timedelta(seconds=1))
    owner = type(room.owner).objects.get(pk=room.owner.pk)
    assert owner.live_quota == pro.live_streams
    owner.plan_expires_at = timezone.now() - timedelta(seconds=1)
    owner.save(update_fields=["plan_expires_at"])
    assert user_plan(user=owner).is_default
    assert plans_expire() == 1
    owner.refresh_from_db()
    assert owner.plan is None and owner.live_quota == Plan.objects.get(is_default=True).live_streams
    changes = ActivityLog.objects.filter(user=owner, action=ActivityLog.Action.PLAN_CHANGE).order_by(
        "created_at"
    )
    assert [(c.detail["before"], c.detail["after"]) for c in changes] == [(None, "pro"), ("pro", None)]


def test_a_playout_waits_for_approval_where_the_site_requires_it_and_staff_decide(
    client, staff, django_capture_on_commit_callbacks
):
    SiteSettings.objects.update_or_create(pk=SITE_SETTINGS_PK, defaults={"playouts_need_approval": True})
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=Plan.objects.get(name="pro"))
    vod = VodFactory(room=room, playlist_path="vods/1/x/index.m3u8")
    playout = services.playout_create(user=room.owner, room=room, vod=vod, starts_at=timezone.now())
    assert playout.state == Playout.State.PENDING
    assert not selectors.playouts_due().exists()

    client.login(
        request=RequestFactory().post("/accounts/login/"), username=staff.username, password=PASSWORD
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/relay/playout/",
            {"action": "reject", "_selected_action": [playout.pk], "note": "Not this one."},
        )
    assert response.status_code == 302
    playout.refresh_from_db()
    assert (playout.state, playout.staff_note, playout.decided_by) == (
        Playout.State.REJECTED,
        "Not this one.",
        staff,
    )
    notice = Notification.objects.get(recipient=room.owner, kind=Notification.Kind.SYSTEM)
    assert "Not this one." in notice.message
    # A decided playout is not decided again.
    assert not services.playout_decide(playout=playout, by=staff, approve=True)
    events = list(
        ActivityLog.objects.filter(action=ActivityLog.Action.PLAYOUT).values_list("detail__event", flat=True)
    )
    assert "requested" in events and "rejected" in events


def test_an_approved_playout_is_due_at_its_time(staff):
    SiteSettings.objects.update_or_create(pk=SITE_SETTINGS_PK, defaults={"playouts_need_approval": True})
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=Plan.objects.get(name="pro"))
    vod = VodFactory(room=room, playlist_path="vods/1/x/index.m3u8")
    playout = services.playout_create(user=room.owner, room=room, vod=vod, starts_at=timezone.now())
    assert services.playout_decide(playout=playout, by=staff, approve=True)
    assert list(selectors.playouts_due()) == [playout]


def test_a_file_that_is_not_a_video_is_refused_in_the_api(auth_api):
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=Plan.objects.get(name="pro"))
    response = auth_api(room.owner).post(
        f"/api/rooms/{room.pk}/playouts/",
        {
            "upload": SimpleUploadedFile("notes.mp4", b"not frames" * 100),
            "starts_at": timezone.now().isoformat(),
        },
        format="multipart",
    )
    assert_error(response, 400, fields=("upload",))
    assert not Playout.objects.exists()


def test_a_playout_needs_exactly_one_source(auth_api):
    room = RoomFactory()
    user_plan_set(user=room.owner, plan=Plan.objects.get(name="pro"))
    response = auth_api(room.owner).post(
        f"/api/rooms/{room.pk}/playouts/", {"starts_at": timezone.now().isoformat()}, format="json"
    )
    assert_error(response, 400, fields=("vod",))
