"""The live quality ladder of one Celery worker: an ffmpeg per live stream it claimed, reading the source
from the ingest's loopback HLS application and publishing each lower rung to the ladder application, plus
the master playlist players load once every rung plays. Checked and reported every LADDER_TICK_S.

The worker reads the source from and publishes the rungs to the ingest at RELAY_SOURCE_HOST (loopback by
default) and writes the master playlist into HLS_ROOT, which it must share with the ingest. Process arguments name the room's public name only, never the stream key. A transcoder dies
with the supervisor's thread (PR_SET_PDEATHSIG), so a killed worker leaves none behind.
"""

import collections
import logging
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.conf import settings
from django.db import close_old_connections

from rooms.models import MASTER_PLAYLIST_SUFFIX
from streamlite.subprocesses import die_with_parent_thread
from streams import selectors, services
from streams.ingest import IngestPublisher, ingest_publishers
from streams.ladder import Rung
from streams.models import LadderError, LadderState, Stream

logger = logging.getLogger(__name__)

STOP_WAIT_S = 5
# ffmpeg's own stall limit on the source, in microseconds: a silent source ends the transcoder.
IO_TIMEOUT_US = 15_000_000
# ffmpeg (at verbose level) names the size its filter graph is configured for, again whenever the source's
# frames change size: a second, different size means the encoder changed resolution mid-stream.
GRAPH_INPUT_SIZE = re.compile(r"graph \d+ input from stream [0-9:]+ @ \S+\] w:(\d+) h:(\d+)")
# The source's bandwidth in the master playlist when the ingest has not measured it yet.
SOURCE_KBPS_UNKNOWN = 3000


def rung_stream_name(public_name: str, rung: Rung) -> str:
    """The rung's name in the ladder application and its HLS files: the height, unique in a ladder."""
    return f"{public_name}_{rung.height}"


def transcoder_command(*, public_name: str, rungs: list[Rung]) -> list[str]:
    """One ffmpeg decoding the source once and encoding every rung: keyframes follow the source's, so all
    renditions cut their fragments at the same moments and players switch between them cleanly."""
    ingest = f"rtmp://{settings.RELAY_SOURCE_HOST}:{settings.RTMP_PORT}"
    source = f"{ingest}/{settings.RTMP_HLS_APP}/{public_name}"
    scaled = ";".join(f"[s{i}]scale=-2:{rung.height}[v{i}]" for i, rung in enumerate(rungs))
    graph = f"[0:v]split={len(rungs)}{''.join(f'[s{i}]' for i in range(len(rungs)))};{scaled}"
    command = [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "verbose", "-nostats",
        "-rtmp_live", "live", "-rw_timeout", str(IO_TIMEOUT_US), "-i", source, "-filter_complex", graph,
    ]  # fmt: skip
    for i, rung in enumerate(rungs):
        command += [
            "-map", f"[v{i}]", "-map", "0:a:0?",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-force_key_frames", "source",
            "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.video_kbps}k", "-bufsize", f"{rung.video_kbps * 2}k",
            "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k",
            "-f", "flv", "-flvflags", "no_duration_filesize",
            f"{ingest}/{settings.RTMP_LADDER_APP}/{rung_stream_name(public_name, rung)}",
        ]  # fmt: skip
    return command


def _dimensions(resolution: str) -> tuple[int, int] | None:
    width, _x, height = resolution.partition("x")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() else None


def master_playlist(*, public_name: str, source: IngestPublisher, rungs: list[Rung]) -> str:
    """The source first, then each rung: hls.js starts on the first and picks by measured bandwidth."""
    width, height = _dimensions(source.resolution) or (0, 0)
    source_kbps = source.bitrate_kbps or SOURCE_KBPS_UNKNOWN
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f'#EXT-X-STREAM-INF:BANDWIDTH={source_kbps * 1000},RESOLUTION={width}x{height},NAME="{height}p"',
        f"{public_name}.m3u8",
    ]
    for rung in rungs:
        # The width scale=-2 gives: the source's aspect, rounded to an even number.
        rung_width = round(width * rung.height / height / 2) * 2 if height else 0
        kbps = rung.video_kbps + rung.audio_kbps
        lines += [
            f'#EXT-X-STREAM-INF:BANDWIDTH={kbps * 1000},RESOLUTION={rung_width}x{rung.height},NAME="{rung.name}"',
            f"{rung_stream_name(public_name, rung)}.m3u8",
        ]
    return "\n".join(lines) + "\n"


def master_path(public_name: str) -> Path:
    return Path(settings.HLS_ROOT) / f"{public_name}{MASTER_PLAYLIST_SUFFIX}.m3u8"


def master_write(*, public_name: str, text: str) -> None:
    path = master_path(public_name)
    # Written aside, then renamed: a player never reads half a playlist.
    partial = path.with_suffix(".tmp")
    partial.write_text(text)
    partial.chmod(0o644)
    partial.replace(path)


@dataclass
class Transcoder:
    """One stream's running ffmpeg and what it printed lately."""

    stream_id: int
    public_name: str
    rungs: list[Rung]
    source: IngestPublisher
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    ever_ran: bool = False
    running: bool = False
    errors: collections.deque = field(default_factory=lambda: collections.deque(maxlen=30))
    input_sizes: set = field(default_factory=set)
    resolution_changed: bool = False

    def launch(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed program, arguments built here
            transcoder_command(public_name=self.public_name, rungs=self.rungs),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent_thread,  # noqa: PLW1509 - prctl only, before exec
        )
        self.started_at = time.time()
        self.running = False
        threading.Thread(target=self._read_errors, args=(self.process,), daemon=True).start()

    def _read_errors(self, process: subprocess.Popen) -> None:
        for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if size := GRAPH_INPUT_SIZE.search(line):
                self.input_sizes.add(size.groups())
                self.resolution_changed = len(self.input_sizes) > 1
            self.errors.append(line)

    def rungs_playing(self) -> bool:
        """Every rung's playlist was written since this process started."""
        for rung in self.rungs:
            playlist = Path(settings.HLS_ROOT) / f"{rung_stream_name(self.public_name, rung)}.m3u8"
            try:
                if playlist.stat().st_mtime < self.started_at:
                    return False
            except FileNotFoundError:
                return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        master_path(self.public_name).unlink(missing_ok=True)

    def last_words(self) -> str:
        return " | ".join(line for line in list(self.errors)[-3:] if line)


class LadderSupervisor:
    def __init__(self, *, node: str):
        self.node = node
        self.transcoders: dict[int, Transcoder] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        close_old_connections()
        try:
            publishers = ingest_publishers(app=settings.RTMP_HLS_APP)
        except requests.RequestException:
            # The ingest stopping or restarting (make run stops it beside the worker): without its list a
            # source gone cannot be told from one unseen, so the transcoders stay as they are until it answers.
            logger.warning("ingest /stat unreachable, ladder tick skipped")
            return
        sources = {p.name: p for p in publishers}
        for transcoder in list(self.transcoders.values()):
            self._check(transcoder, source=sources.get(transcoder.public_name))
        services.ladder_orphans_clean()
        for stream in selectors.streams_ladder_unclaimed():
            source = sources.get(stream.room.public_name)
            if stream.pk not in self.transcoders and source is not None:
                self._start(stream, source)

    def _start(self, stream: Stream, source: IngestPublisher) -> None:
        height = (_dimensions(source.resolution) or (0, 0))[1]
        if not height:
            return  # the ingest has not read the source's metadata yet
        rungs = services.ladder_claim(stream_id=stream.pk, node=self.node, source_height=height)
        if not rungs:
            return
        transcoder = Transcoder(
            stream_id=stream.pk, public_name=stream.room.public_name, rungs=rungs, source=source
        )
        transcoder.launch()
        self.transcoders[stream.pk] = transcoder
        services.ladder_progress(
            stream_id=stream.pk, node=self.node, pid=transcoder.process.pid, running=False, restarts=0
        )
        logger.info("quality ladder of stream %s started (pid %s)", stream.pk, transcoder.process.pid)

    def _release(self, transcoder: Transcoder, state: LadderState, error: LadderError | None = None) -> None:
        transcoder.stop()
        del self.transcoders[transcoder.stream_id]
        if error:
            logger.warning(
                "transcoder of stream %s (pid %s): %s",
                transcoder.stream_id,
                transcoder.process.pid,
                transcoder.last_words(),
            )
        services.ladder_release(stream_id=transcoder.stream_id, node=self.node, state=state, error=error)

    def _check(self, transcoder: Transcoder, *, source: IngestPublisher | None) -> None:
        stream = Stream.objects.select_related("room").filter(pk=transcoder.stream_id).first()
        if stream is None or stream.status != Stream.Status.LIVE or stream.ladder_node != self.node:
            self._release(transcoder, LadderState.ENDED)
            return
        if not stream.room.ladder_enabled:
            self._release(transcoder, LadderState.ROOM_OFF)
            return
        height = _dimensions(source.resolution)[1] if source and _dimensions(source.resolution) else None
        if transcoder.resolution_changed or (height and height != stream.ladder_source_height):
            self._release(transcoder, LadderState.FAILED, LadderError.RESOLUTION)
            return
        if transcoder.process.poll() is not None:
            if transcoder.restarts >= settings.LADDER_MAX_RESTARTS:
                error = LadderError.CRASHED if transcoder.ever_ran else LadderError.SOURCE
                self._release(transcoder, LadderState.FAILED, error)
                return
            logger.warning(
                "transcoder of stream %s ended (%s), starting it again: %s",
                transcoder.stream_id,
                transcoder.process.returncode,
                transcoder.last_words(),
            )
            transcoder.restarts += 1
            transcoder.launch()
        if not transcoder.running and transcoder.rungs_playing():
            transcoder.running = transcoder.ever_ran = True
        if transcoder.ever_ran:
            # Rewritten every tick: nginx's hls_cleanup deletes playlists older than the HLS window.
            master_write(
                public_name=transcoder.public_name,
                text=master_playlist(
                    public_name=transcoder.public_name,
                    source=source or transcoder.source,
                    rungs=transcoder.rungs,
                ),
            )
        services.ladder_progress(
            stream_id=transcoder.stream_id,
            node=self.node,
            pid=transcoder.process.pid,
            running=transcoder.ever_ran,
            restarts=transcoder.restarts,
        )

    def stop_all(self) -> None:
        """Stop every transcoder and free its slot, so another worker takes the stream at once."""
        for transcoder in list(self.transcoders.values()):
            self._release(transcoder, LadderState.PENDING)

    def _run(self) -> None:
        while not self._stopping.wait(settings.LADDER_TICK_S):
            try:
                self.tick()
            except Exception:
                logger.exception("ladder supervisor tick failed")
        try:
            self.stop_all()
        except Exception:
            logger.exception("ladder supervisor could not release its streams")
        close_old_connections()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ladder-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S * (len(self.transcoders) + 2))
