"""Chat past one box (docs/operations.md, "Chat on a Redis Cluster"): two web nodes (uvicorn) whose chat runs
on a three-primary Redis Cluster (one replica each) started from Debian's redis-server on loopback; the
site's other Redis uses (cache, presence, outbox) stay on the test Redis. Clients talk to the nodes over
real websockets; the failover is a real one, the kill of a shard's primary."""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import websockets
from django.conf import settings
from redis.cluster import RedisCluster

from chat.consumers import CLOSE_TRY_LATER
from streamlite.redis import keys
from tests.e2e.conftest import free_port, running_web, shared_database_url
from tests.e2e.test_two_nodes import PROMPT_S, Client, Node, bearer, connect, until
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
SITE_REDIS_DB = 8
ROOMS = 50
PER_ROOM = 3
# Short, so that a replica takes over a dead primary within seconds.
NODE_TIMEOUT_MS = 1000


@contextmanager
def running_redis_cluster(folder: Path):
    """Three primaries and a replica of each; yields {port: process} once every slot is served."""
    ports = [free_port() for _ in range(6)]
    processes = {}
    try:
        for port in ports:
            processes[port] = subprocess.Popen(
                [
                    REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                    # The bus port defaults to port + 10000, past 65535 for a high free port.
                    "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
                    "--cluster-config-file", f"nodes-{port}.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--save", "", "--appendonly", "no",
                    "--repl-diskless-sync-delay", "0",
                ],
                stdout=(folder / f"redis-{port}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        for port in ports:
            wait_for(
                lambda port=port: _pings(port) or processes[port].poll() is not None,
                what=f"redis-server on {port}",
            )
            if processes[port].poll() is not None:
                pytest.fail((folder / f"redis-{port}.log").read_text(errors="replace")[-3000:])
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports),
             "--cluster-replicas", "1", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        wait_for(lambda: all(_cluster_ok(port) for port in ports), what="the cluster to serve every slot")
        # A replica still in its first sync has nothing to take over with: the failover test would lose
        # what a long-running cluster keeps.
        wait_for(lambda: all(_replicating(port) for port in ports), what="every replica to be in sync")
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()


def _pings(port: int) -> bool:
    try:
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _cluster_ok(port: int) -> bool:
    info = redis.Redis(host="127.0.0.1", port=port, decode_responses=True).execute_command("CLUSTER", "INFO")
    return "cluster_state:ok" in info


def _replicating(port: int) -> bool:
    info = redis.Redis(host="127.0.0.1", port=port, decode_responses=True).info("replication")
    if info["role"] == "master":
        return info["connected_slaves"] == 1 and info["slave0"]["state"] == "online"
    return info["master_link_status"] == "up" and not info["master_sync_in_progress"]


def wait_for(predicate, *, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Cluster:
    def __init__(self, processes: dict[int, subprocess.Popen]):
        self.processes = processes
        self.client = RedisCluster(host="127.0.0.1", port=next(iter(processes)), decode_responses=True)
        # The test's own view of the cluster keeps every node it may ask once the first one is dead.
        self.client.nodes_manager.initialize()

    @property
    def startup_port(self) -> int:
        """The node the web nodes are told of (CHAT_REDIS_CLUSTER_URL)."""
        return next(iter(self.processes))

    def owner(self, key: str) -> int | None:
        """The port of the primary that serves ``key`` now (None while the cluster cannot tell)."""
        try:
            self.client.nodes_manager.initialize()
            return self.client.get_node_from_key(key).port
        except redis.RedisError:
            return None

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


@pytest.fixture(scope="module")
def cluster_site(django_db_setup, django_db_blocker):
    folder = Path(tempfile.mkdtemp(prefix="streamlite-cluster-"))
    redis_url = urlsplit(settings.REDIS_URL)._replace(path=f"/{SITE_REDIS_DB}").geturl()
    redis.Redis.from_url(redis_url).flushdb()
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    try:
        with ExitStack() as stack:
            cluster = Cluster(stack.enter_context(running_redis_cluster(folder)))
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "CHAT_REDIS_CLUSTER_URL": f"redis://127.0.0.1:{cluster.startup_port}",
                "CHAT_BUCKET_SIZE": "1000",
            }
            env.pop("CELERY_TASK_ALWAYS_EAGER", None)
            nodes = []
            for name in ("a", "b"):
                node = Node(name, "", folder / f"worker-{name}.log")
                node.http = stack.enter_context(
                    running_web(port=free_port(), env=env, log=folder / f"web-{name}.log")
                )
                nodes.append(node)
            yield cluster, nodes, folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def logs(folder: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(folder.glob("*.log"))
    )


async def connect_open(node: Node, path: str, headers: dict) -> Client:
    """A socket that got its join batch: one refused while a shard is away (closed with 1013, "try
    later") is opened again a second later, as the room page does."""
    for _attempt in range(10):
        connection = await websockets.connect(
            f"{node.ws}{path}", origin=node.http, additional_headers=headers, open_timeout=PROMPT_S
        )
        client = Client(connection)
        await until(
            lambda client=client: client.events or client.connection.close_code is not None,
            what=lambda: f"the first frame of {path} on node {node.name}\n{logs(node.worker_log.parent)}",
        )
        if client.events:
            return client
        assert client.connection.close_code == CLOSE_TRY_LATER, client.connection.close_code
        await client.close()
        await asyncio.sleep(1)
    pytest.fail(f"{path} on node {node.name} refused ten times\n{logs(node.worker_log.parent)}")


async def send_all(node: Node, path: str, user, texts: list[str], *, prefix: str) -> dict[str, dict]:
    """Send danmaku from a socket of ``user`` and wait for every ack, as the room page does: a socket
    closed meanwhile (1013 while a shard is away) is opened again and what was not acked is resent.
    Returns the acks by client id."""
    frames = {
        f"{prefix}{number}": {
            "type": "danmaku",
            "text": text,
            "mode": "scroll",
            "client_id": f"{prefix}{number}",
        }
        for number, text in enumerate(texts)
    }
    acks: dict[str, dict] = {}
    for _attempt in range(3):
        author = await connect_open(node, path, bearer(user))
        for client_id, frame in frames.items():
            if client_id not in acks:
                await author.connection.send(json.dumps(frame))

        def done(author=author) -> bool:
            acked = {ack["client_id"] for ack in author.of_type("ack")}
            return frames.keys() <= acks.keys() | acked or author.connection.close_code is not None

        await until(done, what=f"acks of {prefix}")
        assert author.of_type("error") == []
        acks.update({ack["client_id"]: ack for ack in author.of_type("ack") if ack["client_id"] in frames})
        await author.close()
        if frames.keys() <= acks.keys():
            return acks
    pytest.fail(f"danmaku {prefix} not acknowledged: {sorted(frames.keys() - acks.keys())}")


def by_seq(events: list[dict]) -> list[tuple[int, int, str]]:
    """(seq, id, text) of each message once, in seq order."""
    return sorted({(event["seq"], event["id"], event["text"]) for event in events})


def test_rooms_spread_over_the_shards_and_danmaku_cross_nodes_in_seq_order(cluster_site):
    cluster, (node_a, node_b), folder = cluster_site
    rooms = [RoomFactory(comment_cooldown_ms=0) for _ in range(ROOMS)]
    sender = UserFactory()
    owners = {room.pk: cluster.owner(keys.chat_seq(room.pk)) for room in rooms}
    assert len(set(owners.values())) == 3, owners
    texts = {room.pk: [f"room {room.pk} danmaku {n}" for n in range(PER_ROOM)] for room in rooms}

    async def scenario():
        room_ids = [room.pk for room in rooms]
        paths = [f"/ws/rooms/{room_id}/" for room_id in room_ids]
        viewers = dict(
            zip(room_ids, await asyncio.gather(*(connect(node_a, path) for path in paths)), strict=True)
        )
        sent = await asyncio.gather(
            *(
                send_all(node_b, path, sender, texts[room.pk], prefix="d")
                for room, path in zip(rooms, paths, strict=True)
            )
        )
        acks = dict(zip(room_ids, sent, strict=True))
        await until(
            lambda: all(len(viewers[r.pk].of_type("danmaku")) >= PER_ROOM for r in rooms),
            what=lambda: f"danmaku on node a\n{logs(folder)}",
        )
        # Node a reads each room on the room's own shard (sharded pub/sub), not on every node.
        subscribers = {
            room_id: cluster.node(owners[room_id]).execute_command(
                "PUBSUB", "SHARDNUMSUB", keys.chat_frames(room_id)
            )[1]
            for room_id in room_ids
        }
        for client in viewers.values():
            await client.close()
        return viewers, acks, subscribers

    viewers, acks, subscribers = asyncio.run(scenario())

    assert min(subscribers.values()) >= 1, subscribers
    ids = []
    for room in rooms:
        received = viewers[room.pk].of_type("danmaku")
        assert [event["text"] for event in received] == texts[room.pk]
        assert [(event["id"], event["seq"]) for event in received] == [
            (acks[room.pk][f"d{n}"]["id"], acks[room.pk][f"d{n}"]["seq"]) for n in range(PER_ROOM)
        ]
        ids += [event["id"] for event in received]
        # The room's keys live on the shard of its channel.
        assert cluster.node(owners[room.pk]).llen(keys.chat_recent(room.pk)) == PER_ROOM
    assert len(set(ids)) == len(ids)  # unique site-wide, though each room numbers its own
    # Each message's site part (the archive's outbox) went to the site's Redis, with its id and lane.
    site = redis.Redis.from_url(
        urlsplit(settings.REDIS_URL)._replace(path=f"/{SITE_REDIS_DB}").geturl(), decode_responses=True
    )
    outbox = [json.loads(fields["doc"]) for _id, fields in site.xrange(keys.CHAT_OUTBOX)]
    archived = {doc["_id"]: doc for doc in outbox if doc["room"] in texts}
    assert sorted(archived) == sorted(ids)
    shown = [event for room in rooms for event in viewers[room.pk].of_type("danmaku")]
    assert [(archived[e["id"]]["text"], archived[e["id"]]["lane"]) for e in shown] == [
        (e["text"], e["lane"]) for e in shown
    ]


def test_killing_a_shards_primary_loses_no_acknowledged_message(cluster_site):
    cluster, (node_a, node_b), folder = cluster_site
    # The hardest shard to lose: the one of the node the web nodes were told of.
    primary = cluster.startup_port
    room = next(
        room
        for room in (RoomFactory(comment_cooldown_ms=0) for _ in range(100))
        if cluster.owner(keys.chat_seq(room.pk)) == primary
    )
    sender = UserFactory()
    path = f"/ws/rooms/{room.pk}/"

    async def scenario():
        viewer = await connect(node_a, path)
        before = await send_all(node_b, path, sender, [f"before {n}" for n in range(10)], prefix="b")
        cluster.processes[primary].send_signal(signal.SIGKILL)
        await asyncio.to_thread(
            wait_for,
            lambda: cluster.owner(keys.chat_seq(room.pk)) not in (primary, None),
            what="a replica to take over",
        )
        after = await send_all(node_b, path, sender, [f"after {n}" for n in range(10)], prefix="a")
        acked = sorted((ack["seq"], ack["id"]) for ack in [*before.values(), *after.values()])
        await until(
            lambda: {(s, i) for s, i, _ in by_seq(viewer.of_type("danmaku"))} >= set(acked),
            what=lambda: f"every acked danmaku on node a: {acked} {viewer.events}\n{logs(folder)}",
            timeout=20,
        )
        # A client that lost everything resumes from seq 0 on either node: its join batch carries every
        # message, and the resume sends none of them a second time.
        resumer = await connect(node_a, path)
        await resumer.connection.send(json.dumps({"type": "resume", "after_seq": 0}))
        await until(
            lambda: len(resumer.of_type("danmaku")) >= len(acked),
            what=lambda: f"the resume: {acked} {resumer.events}\n{logs(folder)}",
        )
        await asyncio.sleep(1)
        assert len(resumer.of_type("danmaku")) == len(acked)
        for client in (viewer, resumer):
            await client.close()
        return viewer, resumer, acked

    viewer, resumer, acked = asyncio.run(scenario())

    for client in (viewer, resumer):
        received = by_seq(client.of_type("danmaku"))
        assert [(seq, message_id) for seq, message_id, _ in received] == acked
        assert [text for _, _, text in received] == [f"before {n}" for n in range(10)] + [
            f"after {n}" for n in range(10)
        ]
    # Node a showed each message once, in seq order: its hub filled the failover's gap before what followed.
    shown = [event["seq"] for event in viewer.of_type("danmaku")]
    assert shown == sorted(set(shown))
