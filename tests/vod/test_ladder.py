"""The VOD's quality ladder with real ffmpeg: the source rung plays first, the lower rungs are transcoded
after it, one task each, and listed in the master playlist as they are made."""

import json
import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.test import APIClient

from streams.ladder import Rung
from tests.factories import VodFactory, ladder_use
from vod import media, services
from vod.models import Vod, VodRendition

pytestmark = pytest.mark.django_db

SMALL_LADDER = (Rung("240p", 240, 300, 64), Rung("160p", 160, 150, 48))


@pytest.fixture
def small_ladder(monkeypatch, settings):
    """Two small rungs and 1 s segments: a 640x360 source gives three rungs of several segments each."""
    ladder_use(SMALL_LADDER)
    settings.VOD_HLS_SEGMENT_S = 1


def variant_urls(master: str) -> list[str]:
    return [line for line in master.splitlines() if line and not line.startswith("#")]


def served(url: str, tmp_path: Path) -> Path:
    """A playlist as the site serves it, saved for ffprobe (its segment URLs are site-relative)."""
    response = Client().get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    path = tmp_path / url.strip("/").replace("/", "_")
    path.write_text(response.content.decode())
    return path


def probe_video(playlist: Path, media_root: str) -> dict:
    # The served segment URLs are /media/...: ffprobe reads the same files from MEDIA_ROOT.
    local = playlist.with_suffix(".local.m3u8")
    local.write_text(playlist.read_text().replace("/media/", f"{media_root}/"))
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,height",
         "-of", "json", str(local)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    streams = json.loads(result.stdout)["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    return {"height": video["height"], "codecs": {s["codec_name"] for s in streams}}


def ladder_run(stream, capture):
    """Process the stream as the worker does: the VOD, then each rung's task queued after it."""
    with capture(execute=True):
        services.vod_process(stream=stream)
    return Vod.objects.get(stream=stream)


def test_a_vod_has_every_rung_of_the_ladder_each_playable_and_cut_at_the_same_instants(
    small_ladder, recorded_stream, celery_eager, django_capture_on_commit_callbacks, settings, tmp_path
):
    vod = ladder_run(recorded_stream(seconds=4, size="640x360"), django_capture_on_commit_callbacks)

    assert (vod.status, vod.width, vod.height) == (Vod.Status.READY, 640, 360)
    assert [(r.name, r.status, r.progress) for r in vod.renditions.all()] == [
        ("240p", VodRendition.Status.READY, 100),
        ("160p", VodRendition.Status.READY, 100),
    ]
    master = Client().get(f"/vods/{vod.pk}/playlist.m3u8").content.decode()
    urls = variant_urls(master)
    assert urls == [f"/vods/{vod.pk}/playlist/{name}.m3u8" for name in ("source", "240p", "160p")]
    assert 'RESOLUTION=640x360,NAME="360p"' in master and 'RESOLUTION=426x240,NAME="240p"' in master
    boundaries = []
    for url, height in zip(urls, (360, 240, 160), strict=True):
        playlist = served(url, tmp_path)
        assert probe_video(playlist, settings.MEDIA_ROOT) == {"height": height, "codecs": {"h264", "aac"}}
        boundaries.append([round(at, 2) for at in media.segment_boundaries(playlist.read_text())])
    assert len(boundaries[0]) >= 3 and boundaries[1] == boundaries[0] and boundaries[2] == boundaries[0]
    # Each rung's peak bandwidth is measured (the test source is x264 ultrafast: only the rungs compare).
    bandwidths = [
        int(line.split("BANDWIDTH=")[1].split(",")[0]) for line in master.splitlines() if "BANDWIDTH" in line
    ]
    assert all(bandwidths) and bandwidths[1] > bandwidths[2]
    # The stored size counts every rung.
    assert vod.size_bytes == sum(
        p.stat().st_size for p in (Path(settings.MEDIA_ROOT) / f"vods/{vod.pk}").rglob("*") if p.is_file()
    )


def test_the_vod_plays_from_its_source_rung_before_the_lower_rungs_are_made(
    small_ladder, recorded_stream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        vod = services.vod_process(stream=recorded_stream(seconds=2, size="640x360"))
    assert vod.status == Vod.Status.READY and queued  # the rung tasks go out after the commit
    assert [(r.name, r.status) for r in vod.renditions.all()] == [
        ("240p", VodRendition.Status.PENDING),
        ("160p", VodRendition.Status.PENDING),
    ]
    master = Client().get(f"/vods/{vod.pk}/playlist.m3u8").content.decode()
    assert variant_urls(master) == [f"/vods/{vod.pk}/playlist/source.m3u8"]
    assert Client().get(f"/vods/{vod.pk}/playlist/240p.m3u8").status_code == 404


def test_no_rung_is_made_at_or_above_the_source(small_ladder, recorded_stream):
    vod = services.vod_process(stream=recorded_stream(seconds=1, size="320x240"))
    assert [r.name for r in vod.renditions.all()] == ["160p"]


def test_a_rung_that_fails_leaves_the_others_and_the_source_playing_and_says_why(
    monkeypatch, small_ladder, recorded_stream, celery_eager, django_capture_on_commit_callbacks, tmp_path
):
    # x264 refuses 4:2:0 pictures of an odd height: a real encoder failure on one rung.
    ladder_use((Rung("241p", 241, 300, 64), Rung("160p", 160, 150, 48)))
    vod = ladder_run(recorded_stream(seconds=2, size="640x360"), django_capture_on_commit_callbacks)

    failed, made = vod.renditions.all()
    assert (failed.name, failed.status, failed.playlist_path) == ("241p", VodRendition.Status.FAILED, "")
    assert "could not be converted" in failed.failure_reason
    assert (made.name, made.status) == ("160p", VodRendition.Status.READY)
    assert vod.status == Vod.Status.READY
    master = Client().get(f"/vods/{vod.pk}/playlist.m3u8").content.decode()
    assert variant_urls(master) == [f"/vods/{vod.pk}/playlist/{name}.m3u8" for name in ("source", "160p")]
    served(f"/vods/{vod.pk}/playlist/source.m3u8", tmp_path)
    # The owner sees it on the dashboard's API, and may try the failed rung again.
    owner = APIClient()
    owner.force_authenticate(vod.room.owner)
    body = owner.get(f"/api/vods/{vod.pk}/").json()
    assert [(r["name"], r["status"]) for r in body["renditions"]] == [("241p", "failed"), ("160p", "ready")]
    assert "could not be converted" in body["renditions"][0]["failure_reason"]
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(f"/api/vods/{vod.pk}/retry/").status_code == 200
    # It fails again (same input), and the rest is untouched.
    assert list(vod.renditions.values_list("status", flat=True)) == ["failed", "ready"]


def test_a_rung_processed_twice_keeps_one_set_of_files(
    small_ladder, recorded_stream, celery_eager, django_capture_on_commit_callbacks, settings
):
    vod = ladder_run(recorded_stream(seconds=2, size="640x360"), django_capture_on_commit_callbacks)
    rung = vod.renditions.get(name="240p")
    before = sorted(p for p in (Path(settings.MEDIA_ROOT) / f"vods/{vod.pk}").rglob("*") if p.is_file())
    with django_capture_on_commit_callbacks(execute=True):
        again = services.vod_rung_process(rendition_id=rung.pk)
    assert again.playlist_path == rung.playlist_path
    after = sorted(p for p in (Path(settings.MEDIA_ROOT) / f"vods/{vod.pk}").rglob("*") if p.is_file())
    assert after == before


def test_a_rung_whose_run_died_is_made_by_the_next_run_and_its_leftovers_go(
    small_ladder, recorded_stream, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        vod = services.vod_process(stream=recorded_stream(seconds=2, size="640x360"))
    rung = vod.renditions.get(name="160p")
    # A killed worker: the rung was marked processing and half uploaded under a prefix nothing names.
    VodRendition.objects.filter(pk=rung.pk).update(status=VodRendition.Status.PROCESSING, progress=40)
    leftover = f"{vod.playlist_path.rsplit('/', 1)[0]}/160p-deadbeef/seg_00000.ts"
    default_storage.save(leftover, ContentFile(b"G" * 188))
    with django_capture_on_commit_callbacks(execute=True):
        services.vod_rung_process(rendition_id=rung.pk)
    rung.refresh_from_db()
    assert (rung.status, rung.progress) == (VodRendition.Status.READY, 100)
    assert not default_storage.exists(leftover)
    # The next rung was queued after it and made too.
    assert vod.renditions.get(name="240p").status == VodRendition.Status.READY


def test_deleting_the_vod_removes_its_rungs(
    small_ladder, recorded_stream, celery_eager, django_capture_on_commit_callbacks, settings
):
    vod = ladder_run(recorded_stream(seconds=2, size="640x360"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.vod_delete(vod=vod)
    assert not any((Path(settings.MEDIA_ROOT) / f"vods/{vod.pk}").rglob("*.ts"))
    assert not VodRendition.objects.filter(vod_id=vod.pk).exists()


class TestS3:
    def test_rungs_are_stored_on_s3_and_served_with_presigned_segments(
        self, small_ladder, recorded_stream, s3_storage, celery_eager, django_capture_on_commit_callbacks
    ):
        moto, bucket = s3_storage
        vod = ladder_run(recorded_stream(seconds=2, size="640x360"), django_capture_on_commit_callbacks)
        keys = moto.keys(bucket)
        for rung in vod.renditions.all():
            assert rung.status == VodRendition.Status.READY and rung.playlist_path in keys
        text = Client().get(f"/vods/{vod.pk}/playlist/160p.m3u8").content.decode()
        urls = variant_urls(text)
        assert urls and all(url.startswith(moto.endpoint) and "Signature=" in url for url in urls)


@pytest.mark.parametrize("gate", ["room", "plan"])
def test_a_room_with_its_ladder_off_or_a_plan_without_it_gets_the_source_only(small_ladder, gate):
    from accounts.models import Plan
    from accounts.plans import user_plan_set

    vod = VodFactory(status=Vod.Status.READY, height=360, width=640)
    if gate == "room":
        vod.room.ladder_enabled = False
        vod.room.save(update_fields=["ladder_enabled"])
    else:
        user_plan_set(user=vod.room.owner, plan=Plan.objects.create(name="no ladder", quality_ladder=False))
    services._ladder_create(vod=vod)
    assert not VodRendition.objects.filter(vod=vod).exists()
