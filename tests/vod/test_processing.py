"""vod_process with real ffmpeg on real recordings, to local storage and to a real moto_server."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from celery.signals import task_retry
from django.core.files.storage import default_storage
from django.test import Client

from tests.factories import RoomFactory, StreamFactory
from vod import services
from vod.models import Vod
from vod.selectors import vod_rung_playlist
from vod.tasks import MAX_RETRIES, vod_process

pytestmark = pytest.mark.django_db


def hls_codecs(playlist: str) -> set[str]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-protocol_whitelist", "file,http,https,tcp,tls,crypto",
         "-show_entries", "stream=codec_name", "-of", "json", playlist],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {stream["codec_name"] for stream in json.loads(result.stdout)["streams"]}


def media_files(settings, vod_id: int) -> list[str]:
    root = Path(settings.MEDIA_ROOT) / "vods" / str(vod_id)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def segment_names(playlist_text: str) -> list[str]:
    return [line for line in playlist_text.splitlines() if line and not line.startswith("#")]


def test_h264_aac_recording_is_remuxed_into_a_ready_vod_on_local_storage(recorded_stream, settings):
    stream = recorded_stream()
    vod = services.vod_process(stream=stream)

    assert (vod.status, vod.progress, vod.failure_reason) == (Vod.Status.READY, 100, "")
    assert vod.duration_s == 3
    assert vod.room_id == stream.room_id
    playlist = Path(settings.MEDIA_ROOT) / vod.playlist_path
    text = playlist.read_text()
    assert text.startswith("#EXTM3U") and "#EXT-X-ENDLIST" in text
    segments = segment_names(text)
    assert segments and all((playlist.parent / name).is_file() for name in segments)
    assert vod.size_bytes == sum(p.stat().st_size for p in playlist.parent.glob("*"))
    assert hls_codecs(str(playlist)) == {"h264", "aac"}
    assert vod.thumbnail.name.endswith(".jpg") and default_storage.size(vod.thumbnail.name) > 0
    assert vod.playlist_path.startswith(f"vods/{vod.pk}/")


def test_remux_copies_the_video_bit_for_bit_and_transcodes_nothing(recorded_stream):
    stream = recorded_stream()
    command = services.media.hls_command(
        Path("in.flv"), Path("out"), services.media.probe(Path(stream.recording_path))
    )
    assert command[:3] == ["nice", "-n", "10"]
    assert command[command.index("-c:v") : command.index("-c:v") + 2] == ["-c:v", "copy"]
    assert command[command.index("-c:a") : command.index("-c:a") + 2] == ["-c:a", "copy"]


def test_other_codecs_are_transcoded_to_h264_and_aac(recorded_stream, settings):
    stream = recorded_stream(video="flv1", audio="libmp3lame")
    assert services.media.probe(Path(stream.recording_path)).remux_only is False
    vod = services.vod_process(stream=stream)
    assert vod.status == Vod.Status.READY
    assert hls_codecs(str(Path(settings.MEDIA_ROOT) / vod.playlist_path)) == {"h264", "aac"}


def test_processing_twice_gives_one_vod_and_one_set_of_objects(recorded_stream, settings):
    stream = recorded_stream()
    first = services.vod_process(stream=stream)
    files = media_files(settings, first.pk)
    second = services.vod_process(stream=stream)
    vod_process.apply(kwargs={"stream_id": stream.pk})

    assert Vod.objects.filter(stream=stream).count() == 1
    assert second.pk == first.pk and second.playlist_path == first.playlist_path
    assert media_files(settings, first.pk) == files
    assert len({name.split("/")[0] for name in files}) == 1


def test_leftovers_of_an_abandoned_run_are_removed_when_a_run_publishes(recorded_stream, settings):
    stream = recorded_stream()
    vod = services.vod_for_stream(stream=stream)
    leftover = Path(settings.MEDIA_ROOT) / "vods" / str(vod.pk) / "abandoned" / "seg_00000.ts"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")
    vod = services.vod_process(stream=stream)
    assert not leftover.exists()
    assert {name.split("/")[0] for name in media_files(settings, vod.pk)} == {vod.playlist_path.split("/")[2]}


def test_a_vod_hidden_while_processing_stays_hidden_but_is_processed(recorded_stream):
    stream = recorded_stream()
    vod = services.vod_for_stream(stream=stream)
    services.vod_hide(vod=vod, by=stream.room.owner)
    vod = services.vod_process(stream=stream)
    assert (vod.status, vod.progress) == (Vod.Status.HIDDEN, 100)
    assert vod.playlist_path


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda path: path.unlink(), "missing"),
        (lambda path: path.write_bytes(b""), "empty"),
        (lambda path: path.write_bytes(b"FLV\x01" + os.urandom(4096)), "corrupt"),
    ],
    ids=["missing", "empty", "corrupt"],
)
def test_a_bad_recording_fails_with_a_clear_reason(recorded_stream, settings, spoil, reason):
    stream = recorded_stream(seconds=1)
    spoil(Path(stream.recording_path))
    vod_process.apply(kwargs={"stream_id": stream.pk})
    vod = Vod.objects.get(stream=stream)
    assert vod.status == Vod.Status.FAILED
    assert reason in vod.failure_reason
    assert not vod.playlist_path and media_files(settings, vod.pk) == []


def test_a_recording_outside_the_recordings_folder_is_refused(recorded_stream, tmp_path):
    stream = recorded_stream(seconds=1)
    outside = tmp_path / "elsewhere.flv"
    Path(stream.recording_path).rename(outside)
    for path in [str(outside), f"{Path(stream.recording_path).parent}/../elsewhere.flv"]:
        stream.recording_path = path
        vod = services.vod_process(stream=stream)
        assert vod.status == Vod.Status.FAILED
        assert "outside the recordings folder" in vod.failure_reason


def test_a_link_inside_the_recordings_folder_to_a_file_outside_is_refused(recorded_stream, tmp_path):
    stream = recorded_stream(seconds=1)
    outside = tmp_path / "secret.flv"
    Path(stream.recording_path).rename(outside)
    Path(stream.recording_path).symlink_to(outside)
    vod = services.vod_process(stream=stream)
    assert vod.status == Vod.Status.FAILED and "outside" in vod.failure_reason


def _ffmpeg_children() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"-progress" in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.django_db(transaction=True)  # processing runs in a thread with its own connection
def test_ffmpeg_killed_mid_way_fails_the_vod_and_leaves_no_partial_files(recorded_stream, settings):
    # A transcode of a longer recording: long enough to be caught in the act.
    stream = recorded_stream(seconds=40, video="flv1", audio="libmp3lame", size="1280x720")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("vod", services.vod_process(stream=stream)))
    worker.start()
    deadline = time.monotonic() + 30
    while not (children := _ffmpeg_children()):
        assert time.monotonic() < deadline, "ffmpeg never started"
        time.sleep(0.05)
    time.sleep(0.5)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=60)

    vod = Vod.objects.get(stream=stream)
    assert vod.status == Vod.Status.FAILED and "interrupted" in vod.failure_reason
    assert not vod.playlist_path
    assert media_files(settings, vod.pk) == []
    # The streamer's retry later processes it.
    services.vod_retry(vod=vod)
    assert services.vod_process(stream=stream).status == Vod.Status.READY


def test_progress_is_saved_as_processing_goes(recorded_stream, monkeypatch):
    stream = recorded_stream(seconds=20, video="flv1", audio="libmp3lame", size="1280x720")
    seen = []
    original = services._ProgressReporter.__call__

    def spy(self, percent):
        original(self, percent)
        seen.append(Vod.objects.values_list("progress", flat=True).get(stream=stream))

    monkeypatch.setattr(services._ProgressReporter, "__call__", spy)
    services.vod_process(stream=stream)
    distinct = sorted(set(seen))
    assert len(distinct) >= 5 and distinct[-1] <= 99
    assert Vod.objects.get(stream=stream).progress == 100


class TestS3:
    def test_processing_to_s3_publishes_a_playable_vod_with_presigned_segments(
        self, recorded_stream, s3_storage, tmp_path
    ):
        moto, bucket = s3_storage
        stream = recorded_stream()
        vod = services.vod_process(stream=stream)
        assert vod.status == Vod.Status.READY
        keys = moto.keys(bucket)
        assert vod.playlist_path in keys and vod.thumbnail.name in keys
        assert all(key.startswith(vod.playlist_path.rsplit("/", 1)[0]) for key in keys)

        master = Client().get(f"/vods/{vod.pk}/playlist.m3u8").content.decode()
        assert segment_names(master) == [f"/vods/{vod.pk}/playlist/source.m3u8"]
        response = Client().get(f"/vods/{vod.pk}/playlist/source.m3u8")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.apple.mpegurl"
        urls = segment_names(response.content.decode())
        assert urls and all(url.startswith(moto.endpoint) and "Signature=" in url for url in urls)
        with urlopen(urls[0], timeout=10) as segment:  # noqa: S310 (the loopback moto_server)
            assert segment.read(1) == b"G"  # MPEG-TS sync byte
        local = tmp_path / "served.m3u8"
        local.write_text(response.content.decode())
        assert hls_codecs(str(local)) == {"h264", "aac"}

    def test_processing_twice_on_s3_keeps_one_set_of_objects(self, recorded_stream, s3_storage):
        moto, bucket = s3_storage
        stream = recorded_stream()
        services.vod_process(stream=stream)
        keys = moto.keys(bucket)
        services.vod_process(stream=stream)
        assert moto.keys(bucket) == keys
        assert Vod.objects.count() == 1

    def test_deleting_a_vod_removes_its_objects(
        self, recorded_stream, s3_storage, django_capture_on_commit_callbacks
    ):
        moto, bucket = s3_storage
        vod = services.vod_process(stream=recorded_stream())
        with django_capture_on_commit_callbacks(execute=True):
            services.vod_delete(vod=vod)
        assert moto.keys(bucket) == []

    def test_unreachable_store_retries_then_fails_and_a_later_retry_succeeds(
        self, recorded_stream, s3_storage, django_capture_on_commit_callbacks
    ):
        moto, bucket = s3_storage
        stream = recorded_stream()
        moto.stop()
        try:
            with pytest.raises(services.VodStorageError):
                services.vod_process(stream=stream)
            vod = Vod.objects.get(stream=stream)
            assert (vod.status, vod.playlist_path) == (Vod.Status.PROCESSING, "")
            # The task retries storage errors (eagerly here, without the backoff's waits); once they
            # are used up the VOD fails with the reason.
            retried = []

            def on_retry(**signal):
                retried.append(signal["reason"])

            task_retry.connect(on_retry)
            try:
                result = vod_process.apply(kwargs={"stream_id": stream.pk}, throw=False)
            finally:
                task_retry.disconnect(on_retry)
            assert result.state == "FAILURE" and len(retried) == MAX_RETRIES
            vod.refresh_from_db()
            assert vod.status == Vod.Status.FAILED and "could not be reached" in vod.failure_reason
        finally:
            moto.start()
        moto.bucket_create(bucket)
        with django_capture_on_commit_callbacks() as enqueued:
            services.vod_retry(vod=vod)
        assert len(enqueued) == 1  # the task again, which the worker then runs:
        vod_process.apply(kwargs={"stream_id": stream.pk})
        vod.refresh_from_db()
        assert vod.status == Vod.Status.READY
        assert vod.playlist_path in moto.keys(bucket)


def test_served_playlist_points_local_segments_at_media_url(recorded_stream):
    vod = services.vod_process(stream=recorded_stream())
    assert all(
        url.startswith(f"/media/vods/{vod.pk}/")
        for url in segment_names(vod_rung_playlist(vod=vod, name="source"))
    )


def test_followers_are_notified_once_the_vod_is_ready(
    recorded_stream, celery_eager, django_capture_on_commit_callbacks
):
    from notifications.models import Notification
    from tests.factories import FollowFactory

    stream = recorded_stream(seconds=1)
    follower = FollowFactory(followed=stream.room.owner).follower
    with django_capture_on_commit_callbacks(execute=True):
        vod = services.vod_process(stream=stream)
    notes = Notification.objects.filter(recipient=follower, kind=Notification.Kind.NEW_VOD)
    assert [note.vod_id for note in notes] == [vod.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.vod_process(stream=stream)
    assert notes.count() == 1


def test_a_new_vod_takes_the_rooms_description_and_category(db):
    room = RoomFactory(description="Weekly chess with viewers")
    stream = StreamFactory(room=room)
    category = room.category
    vod = services.vod_for_stream(stream=stream)
    assert (vod.description, vod.category) == ("Weekly chess with viewers", category)
    # Later edits of the room leave the VOD as it was made.
    room.description = "Now a cooking show"
    room.category = None
    room.save()
    vod.refresh_from_db()
    assert (vod.description, vod.category) == ("Weekly chess with viewers", category)
