"""The nginx-rtmp ingest as seen from Django: its config, its /stat listing and its /control handler."""

import ipaddress
import os
import pwd
import xml.etree.ElementTree as ET  # noqa: S405 - the XML comes from our own loopback nginx
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.template import Context, Engine

TEMPLATE_PATH = settings.BASE_DIR / "deploy" / "nginx-rtmp.conf.template"
# The user Debian's nginx gives its workers when the master starts as root.
WORKER_USER = "nobody"
INGEST_HTTP_TIMEOUT_S = 3


def control_allow() -> list[str]:
    """Who may read /stat and use /control: loopback and INGEST_CONTROL_ALLOW (the workers' addresses when
    they run on other hosts), each checked as an address or network so nothing else reaches the config."""
    return ["127.0.0.1", *(str(ipaddress.ip_network(a.strip())) for a in settings.INGEST_CONTROL_ALLOW)]


def rtmp_config_render(*, output: Path) -> Path:
    """Write nginx's config for the current settings, with the folders nginx and its workers write to."""
    prefix = output.resolve().parent
    run_as_root = os.geteuid() == 0
    for folder in (prefix, prefix / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    # nginx-rtmp writes stream keys into its error log (see the template); nginx keeps an existing file's mode.
    error_log = prefix / "error.log"
    error_log.touch()
    error_log.chmod(0o600)
    for folder in (Path(settings.HLS_ROOT), Path(settings.RECORDINGS_ROOT)):
        folder.mkdir(parents=True, exist_ok=True)
        if run_as_root:
            worker = pwd.getpwnam(WORKER_USER)
            os.chown(folder, worker.pw_uid, worker.pw_gid)
    engine = Engine(autoescape=False)
    template = engine.from_string(TEMPLATE_PATH.read_text())
    text = template.render(
        Context(
            {
                "run_as_root": run_as_root,
                "prefix": prefix,
                "rtmp_port": settings.RTMP_PORT,
                "hls_http_port": settings.HLS_HTTP_PORT,
                "hls_app": settings.RTMP_HLS_APP,
                "ladder_app": settings.RTMP_LADDER_APP,
                "hls_root": Path(settings.HLS_ROOT).resolve(),
                "recordings_root": Path(settings.RECORDINGS_ROOT).resolve(),
                "hook_base": settings.RTMP_HOOK_BASE_URL.rstrip("/"),
                "secret": quote(settings.RTMP_HOOK_SECRET, safe=""),
                "update_interval": settings.RTMP_UPDATE_INTERVAL_S,
                "hls_window": settings.HLS_WINDOW_S,
                "control_allow": control_allow(),
            }
        )
    )
    output.write_text(text)
    # It carries the hook secret.
    output.chmod(0o600)
    return output


@dataclass(frozen=True)
class IngestPublisher:
    """One encoder publishing to the ingest application, as nginx's /stat lists it."""

    name: str
    client_id: str
    bitrate_kbps: int | None = None
    resolution: str = ""
    fps: int | None = None
    video_codec: str = ""
    audio_codec: str = ""

    def stream_stats(self) -> dict:
        return {
            "bitrate_kbps": self.bitrate_kbps,
            "resolution": self.resolution,
            "fps": self.fps,
            "video_codec": self.video_codec[:20],
            "audio_codec": self.audio_codec[:20],
        }


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def ingest_urls() -> list[str]:
    """The /stat and /control base URL of every ingest node (INGEST_HTTP_URL, comma-separated)."""
    return [url.strip().rstrip("/") for url in settings.INGEST_HTTP_URL.split(",") if url.strip()]


def ingest_publishers(*, app: str = "live") -> list[IngestPublisher]:
    """Who publishes to ``app`` right now on any ingest node, from their /stat (raises when one is down:
    without every node's list, a stream missing from the others' could not be told from one ended)."""
    publishers = []
    for url in ingest_urls():
        publishers += _node_publishers(url=url, app=app)
    return publishers


def _node_publishers(*, url: str, app: str) -> list[IngestPublisher]:
    response = requests.get(f"{url}/stat", timeout=INGEST_HTTP_TIMEOUT_S)
    response.raise_for_status()
    root = ET.fromstring(response.content)  # noqa: S314 - our own nginx, on loopback
    publishers = []
    for application in root.iter("application"):
        if application.findtext("name") != app:
            continue
        for stream in application.iter("stream"):
            client = next((c for c in stream.iter("client") if c.find("publishing") is not None), None)
            if client is None:
                continue
            video = stream.find("meta/video")
            width, height, fps = (
                _int(video.findtext(f)) if video is not None else None
                for f in ("width", "height", "frame_rate")
            )
            bw_in = _int(stream.findtext("bw_in"))
            publishers.append(
                IngestPublisher(
                    name=stream.findtext("name", ""),
                    client_id=client.findtext("id", ""),
                    bitrate_kbps=bw_in // 1000 if bw_in else None,
                    resolution=f"{width}x{height}" if width and height else "",
                    fps=fps,
                    video_codec=stream.findtext("meta/video/codec", ""),
                    audio_codec=stream.findtext("meta/audio/codec", ""),
                )
            )
    return publishers


def ingest_publisher_drop(*, name: str, app: str = "live") -> int:
    """Disconnect whoever publishes ``name`` on any ingest node (a key reset or a ban while live);
    returns how many. Asking a node that does not carry it again is harmless, so a retry may repeat all."""
    dropped = 0
    for url in ingest_urls():
        response = requests.get(
            f"{url}/control/drop/publisher?{urlencode({'app': app, 'name': name})}",
            timeout=INGEST_HTTP_TIMEOUT_S,
        )
        response.raise_for_status()
        dropped += _int(response.text.strip()) or 0
    return dropped
