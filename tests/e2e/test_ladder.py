"""The live quality ladder end to end: real nginx-rtmp, real ffmpeg publishing a 640x360 source, the
ladder supervisor running real ffmpeg transcoders (in this process, as a worker runs it), PostgreSQL and
Redis. The test ladder is small (240p, 160p): the machine has two cores."""

import os
import signal
import subprocess
from urllib.request import urlopen

import pytest
from django.test import Client

from accounts.models import Plan
from accounts.plans import user_plan_set
from accounts.services import site_settings_get
from rooms.models import Room
from rooms.selectors import stream_key_active
from rooms.services import room_update
from streams.models import LadderError, LadderState, Stream
from streams.transcoder import LadderSupervisor
from tests.e2e import test_ingest
from tests.e2e.test_ingest import wait_for, wait_idle, wait_live
from tests.e2e.test_player_browser import ARTIFACTS, chromium  # noqa: F401 (fixture)
from tests.e2e.test_restream import command_lines, process_alive
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ingest = test_ingest.ingest
publishers = test_ingest.publishers

TEST_LADDER = "240p 240 300 48\n160p 160 150 32"


@pytest.fixture
def ladder(settings):
    """The site's ladder set to two small rungs, one stream at a time, and a supervisor ticking fast."""
    settings.LADDER_TICK_S = 0.5
    site = site_settings_get()
    site.ladder, site.ladder_max_streams = TEST_LADDER, 1
    site.save()
    supervisor = LadderSupervisor(node="test-ladder")
    supervisor.start()
    yield supervisor
    supervisor.stop()


def stream_of(room: Room) -> Stream:
    return Stream.objects.filter(room=room).order_by("-started_at").first()


def wait_ladder(room: Room, state: str, timeout: float = 30) -> Stream:
    return wait_for(
        lambda: (s := stream_of(room)) is not None and s.ladder_state == state and s,
        timeout=timeout,
        what=f"the ladder to be {state}",
    )


def transcoders_of(room: Room) -> list[str]:
    """The process table's ffmpeg transcoders of the room (their arguments name its public name)."""
    return [
        line
        for line in command_lines().splitlines()
        if line.startswith("ffmpeg") and f"/ladder/{room.public_name}_" in line
    ]


def probe_height(url: str) -> int:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-rw_timeout", "10000000", "-select_streams", "v:0",
         "-show_entries", "stream=height", "-of", "csv=p=0", url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return int(probe.stdout.split()[0]) if probe.stdout.split() else 0


def api_room(room: Room) -> dict:
    return Client().get(f"/api/rooms/{room.pk}/").json()


def dashboard_text(room: Room) -> str:
    client = Client()
    client.force_login(room.owner)
    return client.get("/dashboard/").content.decode()


def session_cookie(user, url: str) -> list[dict]:
    client = Client()
    client.force_login(user)
    return [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}]


def go_live(ingest, publishers, room: Room) -> subprocess.Popen:
    encoder = publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    return encoder


def test_the_ladder_plays_its_rungs_from_a_master_playlist_and_ends_with_the_stream(
    ingest, publishers, ladder
):
    room = RoomFactory()
    key = stream_key_active(room=room).secret
    encoder = go_live(ingest, publishers, room)
    assert api_room(room)["hls_url"].endswith(f"/{room.public_name}.m3u8")

    stream = wait_ladder(room, LadderState.RUNNING)
    assert stream.ladder_rungs == ["240p", "160p"]
    hls_url = api_room(room)["hls_url"]
    assert hls_url == f"{ingest.hls_url(room.public_name).removesuffix('.m3u8')}_abr.m3u8"
    with urlopen(hls_url, timeout=10) as response:  # noqa: S310 - loopback nginx
        master = response.read().decode()
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert variants == [
        f"{room.public_name}.m3u8",
        f"{room.public_name}_240.m3u8",
        f"{room.public_name}_160.m3u8",
    ]
    assert "RESOLUTION=640x360" in master and "RESOLUTION=426x240" in master
    base = hls_url.rsplit("/", 1)[0]
    assert [probe_height(f"{base}/{variant}") for variant in variants] == [360, 240, 160]
    # The room page's player loads the master playlist too; no key in any path, URL or process argument.
    page = Client().get(f"/rooms/{room.pk}/").content.decode()
    assert f'data-hls-url="{hls_url}"' in page
    # The test's own encoder stands for OBS, the one process that has the key.
    assert [line for line in command_lines().splitlines() if key in line] == [f"{' '.join(encoder.args)} "]
    assert key not in master
    assert not [path for path in ingest.hls_root.iterdir() if key in path.name]
    assert transcoders_of(room) and process_alive(stream.ladder_pid)
    assert "Viewers can pick a lower quality" in dashboard_text(room)

    encoder.send_signal(signal.SIGINT)
    encoder.wait(timeout=10)
    wait_idle(room)
    wait_for(lambda: not transcoders_of(room), what="no transcoder left in the process table")
    assert not process_alive(stream.ladder_pid)
    assert wait_ladder(room, LadderState.ENDED).ladder_node == ""
    assert not (ingest.hls_root / f"{room.public_name}_abr.m3u8").exists()
    assert Room.objects.get(pk=room.pk).ladder_live is False


def test_beyond_the_limit_a_stream_plays_its_source_only_and_its_dashboard_says_so(
    ingest, publishers, ladder
):
    first, second = RoomFactory(), RoomFactory()
    go_live(ingest, publishers, first)
    wait_ladder(first, LadderState.RUNNING)
    go_live(ingest, publishers, second)
    wait_ladder(second, LadderState.LIMIT)
    assert api_room(second)["hls_url"].endswith(f"/{second.public_name}.m3u8")
    assert not transcoders_of(second)
    assert "The site transcodes as many streams as it can" in dashboard_text(second)


def test_a_room_with_its_ladder_off_and_a_plan_without_it_get_the_source_only(ingest, publishers, ladder):
    room_off = RoomFactory()
    room_update(room=room_off, changes={"ladder_enabled": False})
    no_plan = RoomFactory()
    user_plan_set(user=no_plan.owner, plan=Plan.objects.create(name="no-ladder", quality_ladder=False))
    go_live(ingest, publishers, room_off)
    go_live(ingest, publishers, no_plan)
    wait_ladder(room_off, LadderState.ROOM_OFF)
    wait_ladder(no_plan, LadderState.PLAN_OFF)
    assert "off for this room" in dashboard_text(room_off)
    assert "Your plan has no quality ladder" in dashboard_text(no_plan)
    assert not transcoders_of(room_off) and not transcoders_of(no_plan)
    for room in (room_off, no_plan):
        assert api_room(room)["hls_url"].endswith(f"/{room.public_name}.m3u8")


def test_a_killed_transcoder_comes_back_a_bounded_number_of_times(ingest, publishers, ladder, settings):
    settings.LADDER_MAX_RESTARTS = 1
    room = RoomFactory()
    go_live(ingest, publishers, room)
    first = wait_ladder(room, LadderState.RUNNING)
    os.kill(first.ladder_pid, signal.SIGKILL)
    again = wait_for(
        lambda: (
            (s := stream_of(room)).ladder_pid not in (None, first.ladder_pid) and s.ladder_restarts == 1 and s
        ),
        timeout=20,
        what="the transcoder to be started again",
    )
    assert process_alive(again.ladder_pid)
    os.kill(again.ladder_pid, signal.SIGKILL)
    failed = wait_ladder(room, LadderState.FAILED)
    assert failed.ladder_error == LadderError.CRASHED
    wait_for(lambda: not transcoders_of(room), what="no transcoder left")
    assert api_room(room)["hls_url"].endswith(f"/{room.public_name}.m3u8")
    assert "The quality ladder failed" in dashboard_text(room)


def test_an_encoder_changing_resolution_leaves_the_source_playing(ingest, publishers, ladder, tmp_path):
    clips = []
    for size, seconds in (("640x360", 14), ("426x240", 8)):
        clip = tmp_path / f"{size}.flv"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=15",
             "-f", "lavfi", "-i", "sine", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "15",
             "-c:a", "aac", str(clip)],
            check=True, timeout=120,
        )  # fmt: skip
        clips.append(f"file '{clip}'")
    (tmp_path / "list.txt").write_text("\n".join(clips) + "\n")
    room = RoomFactory()
    encoder = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "concat", "-safe", "0",
         "-i", str(tmp_path / "list.txt"), "-c", "copy", "-f", "flv",
         ingest.publish_url(stream_key_active(room=room).secret)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_live(room)
        wait_ladder(room, LadderState.RUNNING)
        failed = wait_ladder(room, LadderState.FAILED, timeout=30)
        assert failed.ladder_error == LadderError.RESOLUTION
        assert Room.objects.get(pk=room.pk).status == Room.Status.LIVE
        assert api_room(room)["hls_url"].endswith(f"/{room.public_name}.m3u8")
        assert "changed its resolution" in dashboard_text(room)
        wait_for(lambda: not transcoders_of(room), what="no transcoder left")
    finally:
        encoder.kill()
        encoder.wait()


def test_chromium_plays_the_room_from_the_master_playlist(ingest, publishers, ladder, chromium):  # noqa: F811
    room = RoomFactory()
    go_live(ingest, publishers, room)
    wait_ladder(room, LadderState.RUNNING)
    page = chromium.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    playlists: list[str] = []
    page.on(
        "request", lambda request: ".m3u8" in request.url and playlists.append(request.url.rsplit("/", 1)[1])
    )
    page.goto(f"{ingest.web_url}/rooms/{room.pk}/")
    page.wait_for_function("() => document.querySelector('#player video').currentTime > 1", timeout=30_000)
    assert playlists[0] == f"{room.public_name}_abr.m3u8"
    # hls.js went on to a rendition's own playlist: the source's or a rung's.
    assert set(playlists[1:]) & {f"{room.public_name}{suffix}.m3u8" for suffix in ("", "_240", "_160")}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ladder-room.png"))
    # The streamer's dashboard names the ladder's state, wide and narrow.
    dashboard = chromium.new_page(viewport={"width": 1440, "height": 900})
    dashboard.context.add_cookies(session_cookie(room.owner, ingest.web_url))
    dashboard.goto(f"{ingest.web_url}/dashboard/")
    assert "Viewers can pick a lower quality" in dashboard.inner_text("[data-status-ladder]")
    dashboard.locator("[data-status-ladder]").screenshot(path=str(ARTIFACTS / "ladder-dashboard-wide.png"))
    dashboard.set_viewport_size({"width": 390, "height": 844})
    dashboard.locator("[data-dash-status]").screenshot(path=str(ARTIFACTS / "ladder-dashboard-narrow.png"))
    assert errors == []
