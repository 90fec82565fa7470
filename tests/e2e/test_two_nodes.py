"""Two nodes as one site (DESIGN §1, "Scaling out"): two web processes (uvicorn, as `make run`) and two
Celery workers, one beat, sharing one PostgreSQL, one Redis and one MongoDB stand-in. Clients talk to the nodes over real HTTP
and real websockets; nothing in the site is mocked.

The site gets a Redis database of its own on the test Redis: the suite's per-test cache clear (FLUSHDB of
the test process's database) would otherwise wipe the broker's routing table and the presence sets under
the running processes between two tests of this module.
"""

import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
import websockets
from django.conf import settings
from pymongo import MongoClient
from rest_framework_simplejwt.tokens import AccessToken

from notifications.models import Notification
from rooms.selectors import stream_key_active
from streams.models import Stream
from tests.e2e.conftest import (
    free_port,
    running_celery_beat,
    running_celery_worker,
    running_web,
    shared_database_url,
)
from tests.factories import FollowFactory, RoomFactory, StreamFactory, UserFactory
from tests.vod.conftest import ffmpeg_recording
from vod.models import Vod

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SITE_REDIS_DB = 7
DANMAKU_COUNT = 50
# A websocket frame or an HTTP answer that should come at once; waits below poll within it.
PROMPT_S = 10
# How long a duplicate push or a second task run is given to show up before "exactly once" is believed.
STRAGGLERS_S = 3


@dataclass
class Node:
    name: str
    http: str
    worker_log: Path

    @property
    def ws(self) -> str:
        return "ws" + self.http.removeprefix("http")


@dataclass
class Site:
    a: Node
    b: Node
    folder: Path
    recordings_root: Path
    media_root: Path
    mongo_db: str
    nodes: list[Node] = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = [self.a, self.b]

    def hook(self, node: Node, name: str, data: dict) -> requests.Response:
        return requests.post(
            f"{node.http}/hooks/rtmp/{name}",
            params={"secret": settings.RTMP_HOOK_SECRET},
            data=data,
            allow_redirects=False,
            timeout=PROMPT_S,
        )

    def worker_logs(self) -> str:
        return "".join(node.worker_log.read_text(errors="replace") for node in self.nodes)

    def task_log_lines(self, task: str, event: str) -> list[str]:
        """The workers' log lines of ``task`` with ``event`` ("received", "succeeded"): runs, seen from
        outside, in the plain or the structured log format alike."""
        return [
            line
            for line in self.worker_logs().splitlines()
            if f"Task {task}[" in line and f"] {event}" in line
        ]

    def logs(self) -> str:
        """The tail of every process's log, for a failure's message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    folder = Path(tempfile.mkdtemp(prefix="streamlite-two-nodes-"))
    redis_url = urlsplit(settings.REDIS_URL)._replace(path=f"/{SITE_REDIS_DB}").geturl()
    redis.Redis.from_url(redis_url).flushdb()
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    site = Site(
        a=Node("a", "", folder / "worker-a.log"),
        b=Node("b", "", folder / "worker-b.log"),
        folder=folder,
        recordings_root=folder / "recordings",
        media_root=folder / "media",
        mongo_db=f"test_two_nodes_{uuid.uuid4().hex[:12]}",
    )
    site.recordings_root.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "MONGO_DB": site.mongo_db,
        "RECORDINGS_ROOT": str(site.recordings_root),
        "MEDIA_ROOT": str(site.media_root),
        # Viewer counts settle within a second instead of five; the sender below may burst its 50 danmaku.
        "PRESENCE_INTERVAL_S": "0.5",
        "CHAT_BUCKET_SIZE": str(DANMAKU_COUNT * 2),
        "API_THROTTLE_ANON": "100000/min",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    try:
        with ExitStack() as stack:
            for node in site.nodes:
                stack.enter_context(
                    running_celery_worker(name=f"worker-{node.name}", env=env, log=node.worker_log)
                )
            stack.enter_context(running_celery_beat(env=env, folder=folder))
            for node in site.nodes:
                node.http = stack.enter_context(
                    running_web(port=free_port(), env=env, log=folder / f"web-{node.name}.log")
                )
            yield site
    finally:
        MongoClient(settings.MONGO_URL).drop_database(site.mongo_db)
        shutil.rmtree(folder, ignore_errors=True)


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


class Client:
    """One websocket client: every event it received, in order, read by a task of its own."""

    def __init__(self, connection):
        self.connection = connection
        self.events: list[dict] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.connection:
            data = json.loads(frame)
            self.events.extend(data["events"] if data["type"] == "batch" else [data])

    def of_type(self, kind: str) -> list[dict]:
        return [event for event in self.events if event["type"] == kind]

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.gather(self.reader, return_exceptions=True)


async def connect(node: Node, path: str, headers: dict | None = None) -> Client:
    connection = await websockets.connect(
        f"{node.ws}{path}", origin=node.http, additional_headers=headers or {}, open_timeout=PROMPT_S
    )
    client = Client(connection)
    await until(lambda: client.events, what=f"the first frame of {path} on node {node.name}")
    return client


async def until(predicate, *, what: str, timeout: float = PROMPT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")


def wait_for(predicate, *, what: str, timeout: float = PROMPT_S, log: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{log[-4000:]}")


def test_viewer_on_one_node_gets_every_danmaku_sent_on_the_other_in_seq_order(site):
    room = RoomFactory(comment_cooldown_ms=0)
    sender = UserFactory()
    texts = [f"danmaku {number} from node b" for number in range(DANMAKU_COUNT)]

    async def scenario():
        viewer = await connect(site.a, f"/ws/rooms/{room.pk}/")
        author = await connect(site.b, f"/ws/rooms/{room.pk}/", bearer(sender))
        for number, text in enumerate(texts):
            frame = {"type": "danmaku", "text": text, "mode": "scroll", "client_id": f"c{number}"}
            await author.connection.send(json.dumps(frame))
        await until(
            lambda: len(author.of_type("ack")) == DANMAKU_COUNT or author.of_type("error"), what="acks"
        )
        await until(
            lambda: len(viewer.of_type("danmaku")) >= DANMAKU_COUNT,
            what=lambda: f"danmaku on node a: {viewer.events}\n{author.events}\n{site.logs()}",
        )
        await asyncio.sleep(0.5)  # a repeat would be in by now
        await author.close()
        await viewer.close()
        return author, viewer

    author, viewer = asyncio.run(scenario())

    assert author.of_type("error") == []
    acks = {event["client_id"]: event for event in author.of_type("ack")}
    received = viewer.of_type("danmaku")
    seqs = [event["seq"] for event in received]
    assert all(earlier < later for earlier, later in zip(seqs, seqs[1:], strict=False)), seqs
    assert [event["text"] for event in received] == texts
    assert [(event["id"], event["seq"]) for event in received] == [
        (acks[f"c{number}"]["id"], acks[f"c{number}"]["seq"]) for number in range(DANMAKU_COUNT)
    ]
    # Beat's outbox flush ran on the workers (one at a time, under its lock): every message is archived.
    archive = MongoClient(settings.MONGO_URL)[site.mongo_db]["messages"]

    def archived_ids() -> list[int]:
        return sorted(doc["_id"] for doc in archive.find({"room": room.pk}, {"_id": 1}))

    wait_for(lambda: len(archived_ids()) >= DANMAKU_COUNT, what="the archive", log=site.logs())
    assert archived_ids() == sorted(event["id"] for event in received)


def test_chat_sent_on_both_nodes_at_once_reaches_viewers_on_both_each_message_once(site):
    room = RoomFactory(comment_cooldown_ms=0)
    per_sender = DANMAKU_COUNT // 2
    senders = [UserFactory() for _ in site.nodes]

    async def scenario():
        viewers = [await connect(node, f"/ws/rooms/{room.pk}/") for node in site.nodes]
        authors = [
            await connect(node, f"/ws/rooms/{room.pk}/", bearer(sender))
            for node, sender in zip(site.nodes, senders, strict=True)
        ]

        async def send(author: Client, node: Node) -> None:
            for number in range(per_sender):
                frame = {"type": "chat", "text": f"{node.name} {number}", "client_id": f"{node.name}{number}"}
                await author.connection.send(json.dumps(frame))

        await asyncio.gather(*(send(author, node) for author, node in zip(authors, site.nodes, strict=True)))
        await until(lambda: all(len(a.of_type("ack")) == per_sender for a in authors), what="acks")
        await until(
            lambda: all(len(v.of_type("chat")) >= 2 * per_sender for v in viewers),
            what=lambda: f"chat on both nodes: {[len(v.of_type('chat')) for v in viewers]}\n{site.logs()}",
        )
        await asyncio.sleep(0.5)  # a repeat would be in by now
        for client in [*viewers, *authors]:
            await client.close()
        return viewers, authors

    viewers, authors = asyncio.run(scenario())

    acked = sorted((ack["seq"], ack["id"]) for author in authors for ack in author.of_type("ack"))
    assert len({seq for seq, _ in acked}) == 2 * per_sender  # one room sequence across both nodes
    for viewer in viewers:
        received = viewer.of_type("chat")
        assert sorted((event["seq"], event["id"]) for event in received) == acked
        for node in site.nodes:  # each sender's messages keep their order on every node
            texts = [event["text"] for event in received if event["text"].startswith(f"{node.name} ")]
            assert texts == [f"{node.name} {number}" for number in range(per_sender)]


def test_viewer_count_of_a_room_is_the_sum_over_both_nodes(site):
    room = RoomFactory()

    def api_count(node: Node) -> int:
        return requests.get(f"{node.http}/api/rooms/{room.pk}/", timeout=PROMPT_S).json()["viewer_count"]

    async def counts_settle(clients: list[Client], expected: int) -> None:
        await until(
            lambda: all(client.of_type("viewers")[-1]["count"] == expected for client in clients),
            what=f"every socket to see {expected} viewers",
        )
        for node in site.nodes:
            await until(lambda node=node: api_count(node) == expected, what=f"the API of {node.name}")

    viewers = [UserFactory() for _ in range(5)]
    path = f"/ws/rooms/{room.pk}/"

    async def scenario():
        on_a = [await connect(site.a, path, bearer(viewer)) for viewer in viewers[:3]]
        on_b = [await connect(site.b, path, bearer(viewer)) for viewer in viewers[3:]]
        # A viewer with a second tab on the other node is still one viewer.
        second_tab = await connect(site.b, path, bearer(viewers[0]))
        await counts_settle([*on_a, *on_b, second_tab], 5)
        await on_b[0].close()
        await counts_settle([*on_a, on_b[1], second_tab], 4)
        await on_a[0].close()
        await counts_settle([*on_a[1:], on_b[1], second_tab], 4)  # its tab on B still watches
        for client in [*on_a[1:], on_b[1], second_tab]:
            await client.close()

    asyncio.run(scenario())


def test_go_live_posted_to_both_nodes_notifies_each_follower_once(site):
    room = RoomFactory()
    followers = [FollowFactory(followed=room.owner).follower for _ in range(2)]
    publish = {"name": stream_key_active(room=room).secret, "clientid": "17", "addr": "203.0.113.9"}

    async def scenario():
        bells = [
            await connect(node, "/ws/notifications/", bearer(follower))
            for node, follower in zip(site.nodes, followers, strict=True)
        ]
        # The ingest's hook reaches node B; then the same call replayed on node A (a retry, a second ingest).
        for node in (site.b, site.a):
            response = await asyncio.to_thread(site.hook, node, "publish", publish)
            assert response.status_code == 302, response.text
        await until(lambda: all(bell.of_type("notification") for bell in bells), what="both pushes")
        await asyncio.sleep(STRAGGLERS_S)
        for bell in bells:
            await bell.close()
        return bells

    bells = asyncio.run(scenario())

    stream = Stream.objects.get(room=room)
    assert stream.status == Stream.Status.LIVE
    for follower, bell in zip(followers, bells, strict=True):
        stored = Notification.objects.filter(recipient=follower)
        assert [(n.kind, n.stream_id) for n in stored] == [(Notification.Kind.LIVE_STARTED, stream.pk)]
        pushed = bell.of_type("notification")
        assert [(p["id"], p["kind"]) for p in pushed] == [(stored[0].pk, Notification.Kind.LIVE_STARTED)]
    for event in ("received", "succeeded"):
        assert len(site.task_log_lines("notifications.tasks.notify_live_started", event)) == 1, site.logs()


def test_recording_posted_to_both_nodes_is_processed_once_into_one_vod(site):
    stream = StreamFactory()
    recording = ffmpeg_recording(site.recordings_root / f"{stream.room.public_name}-1.flv", seconds=2)
    record_done = {"name": stream.room.public_name, "path": str(recording), "clientid": "17"}
    for node in site.nodes:
        assert site.hook(node, "record_done", record_done).status_code == 200

    vod = wait_for(
        lambda: Vod.objects.filter(stream=stream, status=Vod.Status.READY).first(),
        what="the VOD to be ready",
        timeout=60,
        log=site.worker_logs(),
    )
    time.sleep(STRAGGLERS_S)
    assert Vod.objects.filter(stream=stream).count() == 1
    assert vod.progress == 100 and vod.duration_s == 2
    vod_folder = site.media_root / "vods" / str(vod.pk)
    prefix = vod.playlist_path.split("/")[2]
    assert [path.name for path in vod_folder.iterdir()] == [prefix]
    assert (site.media_root / vod.playlist_path).is_file()
    assert vod.thumbnail.name.startswith(vod.playlist_path.rsplit("/", 1)[0])
    for event in ("received", "succeeded"):
        assert len(site.task_log_lines("vod.tasks.vod_process", event)) == 1, site.logs()
