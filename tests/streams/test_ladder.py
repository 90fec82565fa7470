"""The quality ladder's rules without ffmpeg: the admin-set rungs, who gets a transcoding slot, the master
playlist and the transcoder's arguments. tests/e2e/test_ladder.py runs the real thing."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Plan, SiteSettings
from accounts.plans import user_plan_set
from accounts.services import site_settings_get
from rooms.models import Room
from streamlite import encoders
from streams import services
from streams.ingest import IngestPublisher
from streams.ladder import Rung, ladder_rungs
from streams.models import LadderState, Stream
from streams.transcoder import LadderSupervisor, master_playlist, transcoder_command
from tests.e2e.conftest import free_port
from tests.factories import LiveRoomFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site_ladder():
    site = site_settings_get()
    site.ladder, site.ladder_max_streams = "240p 240 300 48\n160p 160 150 32\n720p 720 2500 128", 1
    site.save()
    return site


def live_stream(**room_fields) -> Stream:
    room = LiveRoomFactory(**room_fields)
    return Stream.objects.get(room=room, status=Stream.Status.LIVE)


def test_the_rungs_are_the_admin_set_ones_below_the_source_highest_first(site_ladder):
    assert [r.name for r in ladder_rungs(source_height=360)] == ["240p", "160p"]
    assert [r.name for r in ladder_rungs(source_height=720)] == ["240p", "160p"]
    assert ladder_rungs(source_height=1080)[0] == Rung("720p", 720, 2500, 128)
    assert ladder_rungs(source_height=160) == []


def test_the_default_ladder_is_1080_720_480_360():
    assert [r.height for r in ladder_rungs(source_height=2160)] == [1080, 720, 480, 360]


@pytest.mark.parametrize(
    "text",
    ["720p 720 2500", "720p 720 2500 128\n720p 720 1500 96", "720p tall 2500 128", "7 20p 720 2500 128"],
)
def test_a_malformed_ladder_is_refused(text):
    site = SiteSettings(ladder=text)
    with pytest.raises(ValidationError) as refused:
        site.full_clean()
    assert "ladder" in refused.value.message_dict


def test_one_slot_goes_to_the_first_stream_and_the_next_gets_the_source_only(site_ladder):
    first, second = live_stream(), live_stream()
    rungs = services.ladder_claim(stream_id=first.pk, node="w1", source_height=360)
    assert [r.name for r in rungs] == ["240p", "160p"]
    assert services.ladder_claim(stream_id=second.pk, node="w2", source_height=360) == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.ladder_state, first.ladder_node, first.ladder_rungs) == (
        LadderState.PENDING,
        "w1",
        ["240p", "160p"],
    )
    assert (second.ladder_state, second.ladder_node) == (LadderState.LIMIT, "")

    services.ladder_release(stream_id=first.pk, node="w1", state=LadderState.ENDED)
    assert services.ladder_claim(stream_id=second.pk, node="w2", source_height=360)


def test_the_master_playlist_is_served_once_running_and_released_with_the_transcoder(site_ladder):
    stream = live_stream()
    services.ladder_claim(stream_id=stream.pk, node="w1", source_height=360)
    room = Room.objects.get(pk=stream.room_id)
    assert room.hls_playlist_url.endswith(f"/{room.public_name}.m3u8")
    services.ladder_progress(stream_id=stream.pk, node="w1", pid=1, running=True, restarts=0)
    room.refresh_from_db()
    assert room.hls_playlist_url.endswith(f"/{room.public_name}_abr.m3u8")
    services.ladder_release(stream_id=stream.pk, node="w1", state=LadderState.ENDED)
    room.refresh_from_db()
    assert room.ladder_live is False


def test_ending_the_stream_sends_players_back_to_the_source(site_ladder):
    stream = live_stream()
    services.ladder_claim(stream_id=stream.pk, node="w1", source_height=360)
    services.ladder_progress(stream_id=stream.pk, node="w1", pid=1, running=True, restarts=0)
    services.stream_end(stream=stream, reason="publish_done")
    assert Room.objects.get(pk=stream.room_id).ladder_live is False


def test_a_room_with_its_ladder_off_a_plan_without_it_or_a_small_source_get_no_slot(site_ladder):
    room_off = live_stream(ladder_enabled=False)
    no_plan = live_stream()
    user_plan_set(user=no_plan.room.owner, plan=Plan.objects.create(name="basic", quality_ladder=False))
    small = live_stream()
    for stream, height, state in (
        (room_off, 360, LadderState.ROOM_OFF),
        (no_plan, 360, LadderState.PLAN_OFF),
        (small, 160, LadderState.TOO_SMALL),
    ):
        assert services.ladder_claim(stream_id=stream.pk, node="w1", source_height=height) == []
        assert Stream.objects.get(pk=stream.pk).ladder_state == state


def test_no_slot_when_staff_set_zero_or_ffmpeg_lacks_the_encoder(site_ladder, monkeypatch):
    stream = live_stream()
    site_ladder.ladder_max_streams = 0
    site_ladder.save()
    assert services.ladder_claim(stream_id=stream.pk, node="w1", source_height=360) == []
    assert Stream.objects.get(pk=stream.pk).ladder_state == LadderState.SITE_OFF
    site_ladder.ladder_max_streams = 1
    site_ladder.save()
    # A machine whose ffmpeg was built without libx264, as ffmpeg itself would list it.
    monkeypatch.setattr(encoders, "ffmpeg_encoders", lambda: frozenset({"aac", "mpeg4"}))
    assert services.ladder_claim(stream_id=stream.pk, node="w1", source_height=360) == []
    assert Stream.objects.get(pk=stream.pk).ladder_state == LadderState.SITE_OFF


def test_a_worker_gone_silent_frees_its_slot(site_ladder, settings):
    settings.LADDER_ORPHAN_S = 0
    first, second = live_stream(), live_stream()
    services.ladder_claim(stream_id=first.pk, node="dead", source_height=360)
    assert services.ladder_orphans_clean() == 1
    assert Stream.objects.get(pk=first.pk).ladder_node == ""
    assert services.ladder_claim(stream_id=second.pk, node="w2", source_height=360)


@pytest.mark.django_db(transaction=True)  # the tick closes stale connections, as in a worker
def test_a_ladder_tick_with_the_ingest_unreachable_is_skipped_and_changes_nothing(
    site_ladder, settings, caplog
):
    settings.INGEST_HTTP_URL = f"http://127.0.0.1:{free_port()}"  # the ingest stopping, as make run stops
    settings.LADDER_ORPHAN_S = 0
    claimed, unclaimed = live_stream(), live_stream()
    services.ladder_claim(stream_id=claimed.pk, node="elsewhere", source_height=360)

    LadderSupervisor(node="here").tick()  # no exception: a warning, not a traceback in the worker's log

    assert "ingest /stat unreachable, ladder tick skipped" in caplog.text
    claimed.refresh_from_db()
    unclaimed.refresh_from_db()
    assert (claimed.ladder_state, claimed.ladder_node) == (LadderState.PENDING, "elsewhere")  # not cleaned
    assert unclaimed.ladder_node == ""  # not started either


def test_the_plans_allow_the_ladder_by_default():
    assert Plan().quality_ladder is True
    assert Plan.objects.get(is_default=True).quality_ladder is True


def test_the_master_playlist_lists_the_source_then_each_rung():
    source = IngestPublisher(name="pub", client_id="1", bitrate_kbps=1200, resolution="640x360")
    rungs = [Rung("240p", 240, 300, 48), Rung("160p", 160, 150, 32)]
    assert master_playlist(public_name="pub", source=source, rungs=rungs).splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        '#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=640x360,NAME="360p"',
        "pub.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=348000,RESOLUTION=426x240,NAME="240p"',
        "pub_240.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=182000,RESOLUTION=284x160,NAME="160p"',
        "pub_160.m3u8",
    ]


def test_the_transcoder_reads_the_public_name_and_publishes_each_rung(settings):
    settings.RTMP_PORT, settings.RTMP_HLS_APP, settings.RTMP_LADDER_APP = 1935, "hls", "ladder"
    settings.RELAY_SOURCE_HOST = "127.0.0.1"
    rungs = [Rung("240p", 240, 300, 48), Rung("160p", 160, 150, 32)]
    command = transcoder_command(public_name="abc123", rungs=rungs)
    assert command[command.index("-i") + 1] == "rtmp://127.0.0.1:1935/hls/abc123"
    outputs = [arg for arg in command if arg.startswith("rtmp://") and "/ladder/" in arg]
    assert outputs == ["rtmp://127.0.0.1:1935/ladder/abc123_240", "rtmp://127.0.0.1:1935/ladder/abc123_160"]
    assert "scale=-2:240" in command[command.index("-filter_complex") + 1]
    assert command.count("source") == 2  # keyframes follow the source's in every rung


def test_the_room_owner_turns_the_ladder_off_on_the_dashboard(client):
    room = RoomFactory()
    client.force_login(room.owner)
    response = client.post("/dashboard/room/edit/", {"title": room.title, "category": room.category_id})
    assert response.status_code == 302
    assert Room.objects.get(pk=room.pk).ladder_enabled is False


def test_the_admin_says_when_ffmpeg_lacks_the_encoder(admin_client, monkeypatch):
    monkeypatch.setattr(encoders, "ffmpeg_encoders", lambda: frozenset({"aac"}))
    site = site_settings_get()
    response = admin_client.get(f"/admin/accounts/sitesettings/{site.pk}/change/", follow=True)
    assert "has no libx264 encoder" in response.content.decode()
