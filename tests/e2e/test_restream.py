"""Restreaming end to end: real nginx-rtmp as our ingest and as the "platform", a real Celery worker
whose relay supervisor runs ffmpeg, real ffmpeg publishing, PostgreSQL and Redis.

The platform is a second nginx-rtmp on loopback whose on_publish accepts one key only, as a platform
checks its streamers' keys.
"""

import asyncio
import datetime
import os
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - our own loopback nginx
from pathlib import Path
from urllib.request import urlopen

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from accounts.models import ActivityLog, Plan
from accounts.plans import user_plan_set
from relay import services
from relay.models import Destination, RelayError
from rooms.selectors import stream_key_active
from tests.e2e import test_ingest
from tests.e2e.conftest import free_port, running_celery_worker, shared_database_url
from tests.e2e.test_ingest import port_open, wait_for, wait_idle, wait_live
from tests.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The ingest tests' fixtures: our nginx-rtmp with a web process for its hooks, and ffmpeg publishers.
ingest = test_ingest.ingest
publishers = test_ingest.publishers

GOOD_KEY = "platform_key_1234567890"
PLATFORM_CONF = """
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen {rtmp_port};
        application platform {{
            live on;
            notify_method get;
            on_publish http://127.0.0.1:{http_port}/auth;
        }}
    }}
}}
http {{
    access_log off;
    client_body_temp_path {folder}/tmp/client_body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    server {{
        listen {http_port};
        location /auth {{
            if ($arg_name = "{good_key}") {{ return 200; }}
            return 403;
        }}
        location /stat {{ rtmp_stat all; allow 127.0.0.1; deny all; }}
    }}
}}
"""


class Platform:
    def __init__(self, folder: Path):
        self.folder, self.rtmp_port, self.http_port = folder, free_port(), free_port()
        (folder / "tmp").mkdir(parents=True)
        conf = folder / "nginx.conf"
        conf.write_text(
            PLATFORM_CONF.format(
                folder=folder, rtmp_port=self.rtmp_port, http_port=self.http_port, good_key=GOOD_KEY
            )
        )
        self.process = subprocess.Popen(
            ["nginx", "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.rtmp_port) and port_open(self.http_port), what="the platform's ports")

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/platform"

    def publishing(self) -> set[str]:
        with urlopen(f"http://127.0.0.1:{self.http_port}/stat", timeout=5) as response:  # noqa: S310
            root = ET.fromstring(response.read())  # noqa: S314
        return {
            stream.findtext("name", "")
            for stream in root.iter("stream")
            if any(client.find("publishing") is not None for client in stream.iter("client"))
        }

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def platform(ingest):
    folder = Path(tempfile.mkdtemp(prefix="streamlite-platform-"))
    folder.chmod(0o755)
    platform = Platform(folder)
    yield platform
    platform.stop()


def relay_worker_env(ingest, django_db_blocker) -> dict:
    """The environment of a real Celery worker whose relay supervisor reads from ``ingest``."""
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "RTMP_PORT": str(ingest.rtmp_port),
        "RTMP_HLS_APP": settings.RTMP_HLS_APP,
        "OUTBOUND_ALLOW_PRIVATE": "true",
        "RESTREAM_KEYS_SECRET": ",".join(settings.RESTREAM_KEYS_SECRET),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "RECORDINGS_ROOT": str(ingest.recordings_root),
        "RELAY_TICK_S": "0.5",
        "RELAY_ORPHAN_S": "5",
        "RELAY_RETRY_BASE_S": "1",
    }


@pytest.fixture
def worker_env(ingest, django_db_blocker):
    return relay_worker_env(ingest, django_db_blocker)


@pytest.fixture
def allow_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True


def state_of(destination: Destination) -> Destination:
    return Destination.objects.get(pk=destination.pk)


def wait_state(destination: Destination, state: str, timeout: float = 20) -> Destination:
    return wait_for(
        lambda: (d := state_of(destination)).state == state and d,
        timeout=timeout,
        what=f"destination {destination.name} to be {state}",
    )


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def command_lines() -> str:
    """Every process's arguments, as any user of the machine may read them."""
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return "\n".join(lines)


def ffprobe_codecs(url: str) -> set[str]:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-rw_timeout", "10000000", "-show_entries", "stream=codec_name",
         "-of", "csv=p=0", url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return set(probe.stdout.split())


def make_destination(
    room, platform, *, key: str = GOOD_KEY, name: str = "Platform", url: str = ""
) -> Destination:
    if room.owner.plan_id is None:
        # Transactional tests empty the tables, the migration's plans with them.
        plan, _ = Plan.objects.get_or_create(name="test-restream", defaults={"destinations_per_room": 5})
        user_plan_set(user=room.owner, plan=plan)
    return services.destination_create(
        user=room.owner, room=room, name=name, url=url or platform.url, key=key
    )


def test_going_live_feeds_the_platform_and_disabling_stops_it(
    ingest, platform, publishers, worker_env, tmp_path, allow_loopback
):
    room = RoomFactory()
    good = make_destination(room, platform)
    refused = make_destination(room, platform, key="not_the_right_key_42", name="Refusing")
    # A port nobody listens on: the connection itself fails.
    closed = make_destination(room, platform, name="Closed", url=f"rtmp://127.0.0.1:{free_port()}/platform")
    log = tmp_path / "worker.log"
    with running_celery_worker(name=f"relay-{uuid.uuid4().hex[:6]}", env=worker_env, log=log):
        publishers(ingest.publish_url(stream_key_active(room=room).secret))
        wait_live(room)
        live = wait_state(good, Destination.State.LIVE)
        assert live.bitrate_kbps is None or live.bitrate_kbps >= 0
        assert GOOD_KEY in wait_for(platform.publishing, what="the platform to receive the stream")
        assert ffprobe_codecs(f"{platform.url}/{GOOD_KEY}") >= {"h264", "aac"}

        failed = wait_state(refused, Destination.State.ERROR)
        assert failed.error == RelayError.REFUSED
        assert wait_state(closed, Destination.State.ERROR).error == RelayError.UNREACHABLE
        # Keys stay out of every process listing and out of the worker's log.
        listing = command_lines()
        assert process_alive(live.pid) and "ffmpeg" in Path(f"/proc/{live.pid}/cmdline").read_text()
        assert GOOD_KEY not in listing and "not_the_right_key_42" not in listing

        services.destination_update(destination=state_of(good), enabled=False)
        stopped = wait_state(good, Destination.State.STOPPED)
        assert stopped.pid is None
        wait_for(lambda: not process_alive(live.pid), what="the relay process to end")
        wait_for(lambda: GOOD_KEY not in platform.publishing(), what="the platform to lose the stream")
    assert GOOD_KEY not in log.read_text() and "not_the_right_key_42" not in log.read_text()
    actions = set(ActivityLog.objects.values_list("action", flat=True))
    assert {"restream_start", "restream_stop", "restream_fail"} <= actions


def test_a_killed_relay_comes_back_and_the_stream_end_leaves_no_process(
    ingest, platform, publishers, worker_env, tmp_path, allow_loopback
):
    room = RoomFactory()
    destination = make_destination(room, platform)
    with running_celery_worker(name=f"relay-{uuid.uuid4().hex[:6]}", env=worker_env, log=tmp_path / "w.log"):
        encoder = publishers(ingest.publish_url(stream_key_active(room=room).secret))
        wait_live(room)
        first = wait_state(destination, Destination.State.LIVE)
        os.kill(first.pid, signal.SIGKILL)
        wait_for(
            lambda: (d := state_of(destination)).state == Destination.State.LIVE and d.pid != first.pid,
            timeout=30,
            what="the relay to be started again",
        )
        again = state_of(destination)
        assert again.failures == 0
        assert ActivityLog.objects.filter(action="restream_fail", detail__error="dropped").exists()

        encoder.send_signal(signal.SIGINT)
        encoder.wait(timeout=10)
        wait_idle(room)
        wait_state(destination, Destination.State.STOPPED)
        wait_for(lambda: not process_alive(again.pid), what="the relay process to end")
        wait_for(lambda: GOOD_KEY not in platform.publishing(), what="the platform to lose the stream")


def test_a_killed_worker_takes_its_relays_along_and_another_worker_takes_over(
    ingest, platform, publishers, worker_env, tmp_path, allow_loopback
):
    room = RoomFactory()
    destination = make_destination(room, platform)
    publishers(ingest.publish_url(stream_key_active(room=room).secret))
    wait_live(room)
    with running_celery_worker(name="relay-a", env=worker_env, log=tmp_path / "a.log") as worker_a:
        first = wait_state(destination, Destination.State.LIVE)
        # The worker alone, as an out-of-memory kill would: its relay must not outlive it.
        worker_a.kill()
        worker_a.wait(timeout=10)
        wait_for(lambda: not process_alive(first.pid), timeout=5, what="the orphaned relay to die")
        os.killpg(worker_a.pid, signal.SIGKILL)  # its pool child, which the test's kill left behind
    assert state_of(destination).node == first.node  # nobody has noticed yet
    started = time.monotonic()
    with running_celery_worker(name="relay-b", env=worker_env, log=tmp_path / "b.log"):
        taken = wait_for(
            lambda: (
                (d := state_of(destination)).state == Destination.State.LIVE and d.node != first.node and d
            ),
            timeout=60,
            what="another worker to take the relay over",
        )
        assert time.monotonic() - started < 60
        assert process_alive(taken.pid)
        assert GOOD_KEY in wait_for(platform.publishing, what="the platform to receive the stream again")


def certificate_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of the test's own and a certificate for "localhost" it signed: (ca, cert, key) PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {
        "not_valid_before": now - datetime.timedelta(hours=1),
        "not_valid_after": now + datetime.timedelta(days=1),
    }

    def signed(subject: str, public_key, issuer: str, signer, *extensions) -> x509.Certificate:
        builder = x509.CertificateBuilder(
            subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]),
            issuer_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]),
            public_key=public_key,
            serial_number=x509.random_serial_number(),
            **valid,
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = signed(
        "Test platform CA", ca_key.public_key(), "Test platform CA", ca_key,
        (x509.BasicConstraints(ca=True, path_length=None), True),
    )  # fmt: skip
    cert = signed(
        "localhost", key.public_key(), "Test platform CA", ca_key,
        (x509.SubjectAlternativeName([x509.DNSName("localhost")]), False),
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class TlsFront:
    """TLS in front of the platform's plain RTMP port, as rtmps platforms terminate it (a thread's asyncio
    server with the certificate for "localhost")."""

    def __init__(self, *, cert: Path, key: Path, backend_port: int):
        self.port, self.backend_port = free_port(), backend_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)

    async def _serve(self) -> asyncio.Server:
        return await asyncio.start_server(self._connection, "127.0.0.1", self.port, ssl=self.context)

    async def _connection(self, client_reader, client_writer) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, writer), self._pipe(reader, client_writer), return_exceptions=True
        )

    @staticmethod
    async def _pipe(reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def url(self, host: str) -> str:
        return f"rtmps://{host}:{self.port}/platform"

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def test_an_rtmps_destination_is_fed_over_tls_with_the_platform_certificate_verified(
    ingest, platform, publishers, worker_env, tmp_path, allow_loopback
):
    ca, cert, key = certificate_authority(tmp_path)
    front = TlsFront(cert=cert, key=key, backend_port=platform.rtmp_port)
    worker_env["RELAY_TLS_CA_FILE"] = str(ca)
    room = RoomFactory()
    verified = make_destination(room, platform, name="Over TLS", url=front.url("localhost"))
    # The same server reached by an address its certificate does not name: never sent the key.
    wrong_name = make_destination(
        room, platform, name="Other name", url=front.url("127.0.0.1"), key="second_key_1234567"
    )
    try:
        with running_celery_worker(
            name=f"relay-{uuid.uuid4().hex[:6]}", env=worker_env, log=tmp_path / "w.log"
        ):
            publishers(ingest.publish_url(stream_key_active(room=room).secret))
            wait_live(room)
            wait_state(verified, Destination.State.LIVE)
            assert GOOD_KEY in wait_for(platform.publishing, what="the platform to receive the stream")
            assert ffprobe_codecs(f"{platform.url}/{GOOD_KEY}") >= {"h264", "aac"}
            assert wait_state(wrong_name, Destination.State.ERROR).error == RelayError.TLS
            assert "second_key_1234567" not in platform.publishing()
    finally:
        front.stop()
