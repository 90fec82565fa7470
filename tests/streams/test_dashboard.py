import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from accounts.models import StreamerApplication
from accounts.services import site_settings_get
from rooms.models import Room
from rooms.selectors import stream_key_active
from streams.models import RoomRecord, Stream, ViewerSample
from streams.tasks_samples import sample_viewers
from tests.factories import CategoryFactory, LiveRoomFactory, RoomFactory, StreamFactory, UserFactory

DASHBOARD = "/dashboard/"

pytestmark = pytest.mark.django_db


def png_bytes(*, trailing: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 9), "purple").save(buffer, format="PNG")
    # Bytes after the PNG's end chunk keep it a valid image while making the upload as large as wanted.
    return buffer.getvalue() + b"\0" * trailing


def edit_data(room: Room, **overrides) -> dict:
    data = {"title": room.title, "description": room.description, "category": room.category_id or ""}
    data.update(overrides)
    return data


@pytest.fixture
def room(user):
    return RoomFactory(owner=user)


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


def key_of(room: Room) -> str:
    return stream_key_active(room=room).secret


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/")


def test_owner_sees_masked_key_rtmp_url_and_obs_settings(owner_client, room):
    response = owner_client.get(DASHBOARD)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="stream-key" type="password" value="{key_of(room)}"' in html
    assert settings.RTMP_PUBLIC_URL in html
    for setting in ("x264", "CBR", "Keyframe interval", "2500–4000 kbps", "4500–6000 kbps", "AAC, 160 kbps"):
        assert setting in html
    # The page carries a secret: no cache may keep it.
    assert "no-store" in response["Cache-Control"]


def test_each_user_sees_only_their_own_key(client, room):
    other_room = RoomFactory()
    client.force_login(other_room.owner)
    html = client.get(DASHBOARD).content.decode()
    assert key_of(other_room) in html
    assert key_of(room) not in html


def test_user_without_room_sees_the_create_form_and_no_key(client, room):
    client.force_login(UserFactory())
    html = client.get(DASHBOARD).content.decode()
    assert 'action="/dashboard/room/create/"' in html
    assert key_of(room) not in html
    assert 'id="stream-key"' not in html


def test_key_reset_by_get_is_refused_and_changes_nothing(owner_client, room):
    old_key = key_of(room)
    response = owner_client.get("/dashboard/key/reset/")
    assert response.status_code == 405
    assert key_of(room) == old_key


def test_key_reset_needs_the_csrf_token(user, room):
    old_key = key_of(room)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/dashboard/key/reset/").status_code == 403
    assert key_of(room) == old_key


def test_key_reset_replaces_the_key_on_the_page(owner_client, room):
    old_key = key_of(room)
    response = owner_client.post("/dashboard/key/reset/", follow=True)
    html = response.content.decode()
    new_key = key_of(room)
    assert new_key != old_key
    assert new_key in html
    assert old_key not in html
    assert "Your stream key was reset" in html


def test_room_edit_saves_title_description_category_and_cover(owner_client, room):
    category = CategoryFactory()
    cover = SimpleUploadedFile("cover.png", png_bytes(), content_type="image/png")
    data = edit_data(room, title="New title", description="Speedruns", category=category.pk, cover=cover)
    response = owner_client.post("/dashboard/room/edit/", data)
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.title, room.description, room.category) == ("New title", "Speedruns", category)
    assert room.cover.name.startswith("covers/")


def test_room_edit_works_while_live(client):
    live_room = LiveRoomFactory()
    client.force_login(live_room.owner)
    response = client.post("/dashboard/room/edit/", edit_data(live_room, title="Still live"))
    assert response.status_code == 302
    live_room.refresh_from_db()
    assert live_room.title == "Still live"
    assert live_room.is_live


def test_room_edit_with_too_long_title_shows_the_error(owner_client, room):
    response = owner_client.post("/dashboard/room/edit/", edit_data(room, title="x" * 101))
    assert response.status_code == 200
    assert "title" in response.context["edit_form"].errors
    room.refresh_from_db()
    assert room.title != "x" * 101


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("cover.png", b"not an image at all", content_type="image/png"),
        SimpleUploadedFile("cover.png", png_bytes(trailing=5 * 1024 * 1024), content_type="image/png"),
    ],
    ids=["not-an-image", "over-5-MB"],
)
def test_room_edit_refuses_a_bad_cover(owner_client, room, upload):
    upload.seek(0)
    response = owner_client.post("/dashboard/room/edit/", edit_data(room, cover=upload))
    assert response.status_code == 200
    assert "cover" in response.context["edit_form"].errors
    room.refresh_from_db()
    assert not room.cover


def test_room_edit_refuses_an_image_format_browsers_do_not_show(owner_client, room):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="TIFF")
    upload = SimpleUploadedFile("cover.tiff", buffer.getvalue(), content_type="image/tiff")
    response = owner_client.post("/dashboard/room/edit/", edit_data(room, cover=upload))
    assert "cover" in response.context["edit_form"].errors


def test_room_create_opens_a_room_with_a_key(owner_client, user):
    response = owner_client.post("/dashboard/room/create/", {"title": "My first room"})
    assert response.status_code == 302
    created = Room.objects.get(owner=user)
    assert created.title == "My first room"
    assert key_of(created) in owner_client.get(DASHBOARD).content.decode()


def test_room_create_past_the_quota_is_a_form_error(owner_client, user):
    user.room_quota = 0
    user.save(update_fields=["room_quota"])
    response = owner_client.post("/dashboard/room/create/", {"title": "One too many"})
    assert response.status_code == 200
    assert response.context["create_form"].non_field_errors()
    assert not Room.objects.filter(owner=user).exists()


def test_room_create_get_is_refused(owner_client):
    assert owner_client.get("/dashboard/room/create/").status_code == 405


@pytest.fixture
def approval_on(db):
    site = site_settings_get()
    site.streamers_need_approval = True
    site.save()


def test_with_approval_on_a_new_user_gets_the_apply_form(owner_client, approval_on):
    html = owner_client.get(DASHBOARD).content.decode()
    assert 'action="/dashboard/apply/"' in html
    assert 'action="/dashboard/room/create/"' not in html
    assert owner_client.post("/dashboard/room/create/", {"title": "Sneaky"}).status_code == 403


def test_application_is_submitted_and_shown_pending(owner_client, user, approval_on):
    response = owner_client.post("/dashboard/apply/", {"message": "I speedrun"}, follow=True)
    application = StreamerApplication.objects.get(user=user)
    assert (application.status, application.message) == ("pending", "I speedrun")
    html = response.content.decode()
    assert "Pending" in html
    # One pending application at a time: the form is gone until staff decide.
    assert 'action="/dashboard/apply/"' not in html


def test_rejected_application_shows_the_staff_note_and_a_new_form(owner_client, user, approval_on):
    StreamerApplication.objects.create(user=user, status="rejected", staff_note="Tell us more <b>please</b>")
    html = owner_client.get(DASHBOARD).content.decode()
    assert "Rejected" in html
    assert "Tell us more &lt;b&gt;please&lt;/b&gt;" in html
    assert 'action="/dashboard/apply/"' in html


def test_approved_user_gets_the_create_form(owner_client, user, approval_on):
    StreamerApplication.objects.create(user=user, status="approved")
    html = owner_client.get(DASHBOARD).content.decode()
    assert 'action="/dashboard/room/create/"' in html
    assert 'action="/dashboard/apply/"' not in html


def make_past_streams(room: Room, count: int) -> None:
    start = timezone.now() - timedelta(days=count + 1)
    for n in range(count):
        stream = StreamFactory(room=room, started_at=start + timedelta(days=n))
        RoomRecord.objects.create(
            room=room,
            stream=stream,
            started_at=stream.started_at,
            ended_at=stream.ended_at,
            peak_viewers=40 + n,
            unique_viewers=90 + n,
            total_comments=7,
        )


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    return len(queries)


def test_history_shows_the_stats_of_past_streams(owner_client, room):
    make_past_streams(room, 1)
    html = owner_client.get(DASHBOARD).content.decode()
    assert "<td>40</td>" in html  # peak
    assert "<td>90</td>" in html  # unique viewers
    assert "<td>1:00:00</td>" in html  # duration


def test_history_query_count_does_not_grow_with_streams(owner_client, room):
    make_past_streams(room, 3)
    owner_client.get(DASHBOARD)  # first visit creates rows (site settings) later visits only read
    few = dashboard_queries(owner_client)
    make_past_streams(room, 17)
    many = dashboard_queries(owner_client)
    assert owner_client.get(DASHBOARD).content.decode().count("data-chart-url=") == 20
    assert few == many


def test_publish_refusal_reason_is_shown(owner_client, room):
    from django.core.cache import cache

    from streams.models import PublishRefusal
    from streams.selectors import publish_refusal_cache_key

    refusal = PublishRefusal.values[0]
    cache.set(publish_refusal_cache_key(room.pk), refusal)
    html = owner_client.get(DASHBOARD).content.decode()
    assert str(PublishRefusal(refusal).label) in html


def test_sampling_stores_the_viewers_of_live_streams_only():
    live_room = LiveRoomFactory(viewer_count=7)
    StreamFactory()  # an ended stream: nothing to sample
    assert sample_viewers() == 1
    sample = ViewerSample.objects.get()
    assert (sample.stream.room, sample.viewers) == (live_room, 7)


def test_sampling_twice_stores_two_samples():
    # Documented: two runs at the same moment each store a sample; the chart just gets one more point.
    LiveRoomFactory()
    sample_viewers()
    sample_viewers()
    assert ViewerSample.objects.count() == 2


def test_viewer_chart_data_is_for_the_owner_only(client, owner_client, room):
    stream = StreamFactory(room=room)
    ViewerSample.objects.create(stream=stream, at=stream.started_at, viewers=3)
    ViewerSample.objects.create(stream=stream, at=stream.started_at + timedelta(seconds=30), viewers=5)
    data = owner_client.get(f"/dashboard/streams/{stream.pk}/viewers/").json()
    assert [viewers for _at, viewers in data["samples"]] == [3, 5]

    client.force_login(UserFactory())
    assert client.get(f"/dashboard/streams/{stream.pk}/viewers/").status_code == 404
    assert client.get(f"/dashboard/streams/{10**30}/viewers/").status_code == 404


def test_live_status_shows_bitrate_resolution_and_viewers(client):
    live_room = LiveRoomFactory(viewer_count=12)
    Stream.objects.filter(room=live_room).update(bitrate_kbps=3500, resolution="1280x720")
    client.force_login(live_room.owner)
    html = client.get(DASHBOARD).content.decode()
    assert 'data-status="live"' in html
    assert "3500 kbps" in html
    assert "1280x720" in html
    assert "<dd data-status-viewers>12</dd>" in html


def test_room_edit_refuses_a_cover_over_the_avatar_pixel_limit(owner_client, room):
    buffer = io.BytesIO()
    # Tiny as a file (one bit per pixel, all zero), huge as a canvas.
    Image.new("1", (12000, 12000)).save(buffer, format="PNG")
    upload = SimpleUploadedFile("cover.png", buffer.getvalue(), content_type="image/png")

    response = owner_client.post("/dashboard/room/edit/", edit_data(room, cover=upload))

    assert len(buffer.getvalue()) < 100 * 1024
    assert "cover" in response.context["edit_form"].errors
    room.refresh_from_db()
    assert not room.cover
