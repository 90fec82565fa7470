"""The relays of one Celery worker: an ffmpeg ``-c copy`` per restream destination it claimed, from the
ingest's loopback HLS application to the platform, checked and reported every RELAY_TICK_S.

Destination keys never reach a process listing: ffmpeg reads them as preset options (``-fpre``) from a
pipe it inherits, so its arguments carry only the server URL. The relays die with the supervisor's thread
(PR_SET_PDEATHSIG), so a killed worker leaves none behind; its rows turn orphan and another worker's tick
takes them over (or marks them stopped) once RELAY_ORPHAN_S has passed.
"""

import collections
import logging
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import close_old_connections

from relay import selectors, services
from relay.keys import KeyUnreadable, key_decrypt
from relay.models import Destination, Playout, PlayoutError, RelayError
from relay.sources import playout_source
from rooms.selectors import stream_key_active
from streamlite.outbound import STREAM_SCHEMES, OutboundRefused, OutboundTarget, outbound_target
from streamlite.subprocesses import die_with_parent_thread
from vod.media import MediaError, Probe

logger = logging.getLogger(__name__)

# Stands in a command for the path of the pipe ffmpeg reads its secret options from.
OPTIONS_PATH = object()
STOP_WAIT_S = 5
# The ingest application encoders publish to (deploy/nginx-rtmp.conf.template).
INGEST_APP = "live"
# ffmpeg's own stall limit on both sides, in microseconds: a silent source or platform ends the relay.
IO_TIMEOUT_US = 15_000_000
# GnuTLS through ffmpeg: an unknown issuer, an expired certificate, another host's certificate.
TLS_SIGNS = ("certificate", "Certificate")
UNREACHABLE_SIGNS = (
    "Connection refused",
    "Connection timed out",
    "No route to host",
    "Network is unreachable",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Failed to resolve",
)


def _host_in_url(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def relay_command(*, destination: Destination, target: OutboundTarget) -> list[str]:
    source = (
        f"rtmp://{settings.RELAY_SOURCE_HOST}:{settings.RTMP_PORT}/"
        f"{settings.RTMP_HLS_APP}/{destination.room.public_name}"
    )
    # Plain rtmp connects to the address checked a moment ago (no second lookup to rebind); rtmps keeps
    # the name, which TLS needs.
    host = _host_in_url(target.address) if target.scheme == "rtmp" else target.host
    app = urlsplit(destination.url).path.strip("/")
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-progress", "pipe:1", "-stats_period", "2",
        "-rtmp_live", "live", "-rw_timeout", str(IO_TIMEOUT_US), "-i", source,
        "-map", "0", "-c", "copy", "-f", "flv", "-flvflags", "no_duration_filesize",
        "-fpre", OPTIONS_PATH, f"{target.scheme}://{host}:{target.port}/{app}",
    ]  # fmt: skip


def relay_options(*, destination: Destination, target: OutboundTarget, key: str) -> str:
    """ffmpeg's rtmp options for the platform, one ``name=value`` a line (the key is checked to hold no
    line break when it is saved)."""
    app = urlsplit(destination.url).path.strip("/")
    lines = [f"rtmp_app={app}", f"rtmp_playpath={key}", f"rw_timeout={IO_TIMEOUT_US}"]
    if target.scheme == "rtmp":
        port = "" if target.port == STREAM_SCHEMES["rtmp"] else f":{target.port}"
        lines.append(f"rtmp_tcurl=rtmp://{_host_in_url(target.host)}{port}/{app}")
    else:
        # ffmpeg's TLS does not verify the platform's certificate unless told to: the key would go to
        # whoever answers. Without a CA file GnuTLS trusts the system's store.
        lines.append("tls_verify=1")
        if settings.RELAY_TLS_CA_FILE:
            lines.append(f"ca_file={settings.RELAY_TLS_CA_FILE}")
    return "".join(f"{line}\n" for line in lines)


# What a playout's input may open: a VOD's playlist in object storage is a local copy naming its segments
# by http(s) URL.
PLAYOUT_PROTOCOLS = "file,http,https,tcp,tls,crypto"


def playout_command(*, source: str, media: Probe, loop: bool) -> list[str]:
    """ffmpeg sending the video at its own pace into the ingest's publishing application, as OBS does."""
    codecs = ["-c", "copy"] if media.remux_only else [
        "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-c:a", "aac",
    ]  # fmt: skip
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
        "-progress", "pipe:1", "-stats_period", "2",
        "-re", *(["-stream_loop", "-1"] if loop else []),
        "-protocol_whitelist", PLAYOUT_PROTOCOLS, "-i", source,
        "-map", "0:v:0", "-map", "0:a:0?", *codecs, "-f", "flv", "-flvflags", "no_duration_filesize",
        "-fpre", OPTIONS_PATH, f"rtmp://{settings.RELAY_SOURCE_HOST}:{settings.RTMP_PORT}/{INGEST_APP}",
    ]  # fmt: skip


def playout_options(*, stream_key: str) -> str:
    return f"rtmp_app={INGEST_APP}\nrtmp_playpath={stream_key}\n"


@dataclass
class Relay:
    """One running ffmpeg and what its progress and error output said so far."""

    process: subprocess.Popen
    signature: tuple
    looped: bool = False
    # Files the process reads while it runs (a playout's playlist copy), removed with it.
    workdir: tempfile.TemporaryDirectory | None = None
    sending: bool = False
    ever_sent: bool = False
    bitrate_kbps: int | None = None
    errors: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20))
    readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def launch(cls, *, command: list[str], options: str, signature: tuple = (), **fields) -> "Relay":
        """Start ffmpeg with ``options`` readable at the path that replaces OPTIONS_PATH in ``command``."""
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, options.encode())
            os.close(write_end)
            path = f"/dev/fd/{read_end}"
            process = subprocess.Popen(  # noqa: S603 - fixed program, arguments built here
                [path if arg is OPTIONS_PATH else arg for arg in command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(read_end,),
                preexec_fn=die_with_parent_thread,  # noqa: PLW1509 - prctl only, before exec
            )
        finally:
            os.close(read_end)
        relay = cls(process=process, signature=signature, **fields)
        relay.readers = [
            threading.Thread(target=reader, daemon=True)
            for reader in (relay._read_progress, relay._read_errors)
        ]
        for reader in relay.readers:
            reader.start()
        return relay

    @classmethod
    def start(cls, destination: Destination) -> "Relay":
        key = key_decrypt(destination.key_encrypted)
        target = outbound_target(destination.url, schemes=STREAM_SCHEMES)
        return cls.launch(
            command=relay_command(destination=destination, target=target),
            options=relay_options(destination=destination, target=target, key=key),
            signature=(destination.url, destination.key_encrypted),
        )

    def _read_progress(self) -> None:
        for raw in self.process.stdout:
            name, _, value = raw.decode(errors="replace").strip().partition("=")
            if name == "out_time_us" and value.strip().isdigit() and int(value) > 0:
                self.sending = self.ever_sent = True
            elif name == "bitrate":
                try:
                    self.bitrate_kbps = round(float(value.strip().removesuffix("kbits/s")))
                except ValueError:
                    self.bitrate_kbps = None

    def _read_errors(self) -> None:
        # Kept in memory to classify a failure, never logged: a platform's reply may echo what it was sent.
        for raw in self.process.stderr:
            self.errors.append(raw.decode(errors="replace"))

    def failure(self) -> RelayError:
        for reader in self.readers:  # the last lines the process wrote before it ended
            reader.join(timeout=1)
        if self.ever_sent:
            return RelayError.DROPPED
        text = "".join(self.errors)
        if any(sign in text for sign in TLS_SIGNS):
            return RelayError.TLS
        if any(sign in text for sign in UNREACHABLE_SIGNS):
            return RelayError.UNREACHABLE
        return RelayError.REFUSED

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir is not None:
            self.workdir.cleanup()


def _playout_failure(relay: Relay) -> PlayoutError | None:
    if relay.process.returncode == 0:
        # The end of the video; a loop ends only when ffmpeg cannot go back to the video's start.
        return PlayoutError.LOOP if relay.looped else None
    for reader in relay.readers:
        reader.join(timeout=1)
    if relay.ever_sent:
        return PlayoutError.BROKE
    text = "".join(relay.errors)
    if "No such file" in text or "Invalid data" in text:
        return PlayoutError.SOURCE
    return PlayoutError.REFUSED


class RelaySupervisor:
    def __init__(self, *, node: str):
        self.node = node
        self.relays: dict[int, Relay] = {}
        self.playouts: dict[int, Relay] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """Stop what is no longer wanted or has changed, report the rest, start what nobody relays."""
        close_old_connections()
        wanted = {destination.pk: destination for destination in selectors.destinations_wanted()}
        for pk, relay in list(self.relays.items()):
            destination = wanted.get(pk)
            if relay.process.poll() is not None:
                del self.relays[pk]
                services.destination_failed(pk=pk, node=self.node, error=relay.failure())
            elif destination is None or (destination.url, destination.key_encrypted) != relay.signature:
                relay.stop()
                del self.relays[pk]
                services.destination_stopped(pk=pk, node=self.node)
            else:
                services.destination_progress(
                    pk=pk, node=self.node, sending=relay.sending, bitrate_kbps=relay.bitrate_kbps
                )
        for destination in selectors.destinations_to_start(node=self.node, wanted=list(wanted.values())):
            if destination.pk not in self.relays:
                self._start(destination.pk)
        services.destinations_orphans_clean(wanted=list(wanted))
        self._playouts_tick()

    def _playouts_tick(self) -> None:
        states = dict(Playout.objects.filter(pk__in=list(self.playouts)).values_list("pk", "state"))
        beyond_hours = selectors.playouts_beyond_hours(pks=list(self.playouts))
        for pk, relay in list(self.playouts.items()):
            if relay.process.poll() is not None:
                error = _playout_failure(relay)
                relay.stop()
                del self.playouts[pk]
                services.playout_finished(pk=pk, node=self.node, error=error)
            elif states.get(pk) not in (Playout.State.STARTING, Playout.State.LIVE):
                relay.stop()  # cancelled
                del self.playouts[pk]
                services.playout_finished(pk=pk, node=self.node)
            elif pk in beyond_hours:
                relay.stop()
                del self.playouts[pk]
                services.playout_finished(pk=pk, node=self.node, error=PlayoutError.HOURS)
            else:
                services.playout_progress(pk=pk, node=self.node, pid=relay.process.pid, sending=relay.sending)
        for pk in selectors.playouts_due().values_list("pk", flat=True):
            self._playout_start(pk)
        services.playouts_orphans_clean()

    def _playout_start(self, pk: int) -> None:
        playout = services.playout_claim(pk=pk, node=self.node)
        if playout is None:
            return
        key = stream_key_active(room=playout.room)
        workdir = tempfile.TemporaryDirectory(prefix=f"playout-{pk}-")
        try:
            source = playout_source(playout, folder=Path(workdir.name))
        except (MediaError, OSError, ValueError):
            workdir.cleanup()
            services.playout_finished(pk=pk, node=self.node, error=PlayoutError.SOURCE)
            return
        if key is None:
            workdir.cleanup()
            services.playout_finished(pk=pk, node=self.node, error=PlayoutError.REFUSED)
            return
        relay = Relay.launch(
            command=playout_command(source=source.input, media=source.media, loop=playout.loop),
            options=playout_options(stream_key=key.secret),
            looped=playout.loop,
            workdir=workdir,
        )
        self.playouts[pk] = relay
        services.playout_progress(pk=pk, node=self.node, pid=relay.process.pid, sending=False)
        logger.info("playout %s started (pid %s)", pk, relay.process.pid)

    def _start(self, pk: int) -> None:
        destination = services.destination_claim(pk=pk, node=self.node)
        if destination is None:
            return
        try:
            relay = Relay.start(destination)
        except KeyUnreadable:
            services.destination_failed(pk=pk, node=self.node, error=RelayError.KEY)
            return
        except OutboundRefused:
            services.destination_failed(pk=pk, node=self.node, error=RelayError.ADDRESS)
            return
        self.relays[pk] = relay
        services.destination_started(pk=pk, node=self.node, pid=relay.process.pid)
        logger.info("restream destination %s relaying (pid %s)", pk, relay.process.pid)

    def stop_all(self) -> None:
        """Stop every relay and let go of its destination, so another worker takes it at once."""
        for pk, relay in list(self.relays.items()):
            relay.stop()
            del self.relays[pk]
            services.destination_stopped(pk=pk, node=self.node)
        for pk, relay in list(self.playouts.items()):
            relay.stop()
            del self.playouts[pk]
            services.playout_finished(pk=pk, node=self.node, error=PlayoutError.LOST)

    def _run(self) -> None:
        while not self._stopping.wait(settings.RELAY_TICK_S):
            try:
                self.tick()
            except Exception:
                logger.exception("relay supervisor tick failed")
        try:
            self.stop_all()
        except Exception:
            logger.exception("relay supervisor could not release its destinations")
        close_old_connections()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relay-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S * (len(self.relays) + 2))
