"""/metrics after real actions: a stream going live through the publish hook, chat through the real
consumer, failing and retried Celery tasks, several processes sharing PROMETHEUS_MULTIPROC_DIR."""

import os
import subprocess
import sys
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from celery import shared_task
from django.conf import settings as django_settings
from django.urls import reverse

from rooms.selectors import stream_key_active
from tests.factories import LiveRoomFactory, RoomFactory, UserFactory
from tests.ops.conftest import scrape

ACCEPTED = ("streamlite_chat_messages_accepted_total",)
DELIVERED = ("streamlite_chat_events_delivered_total",)


def publish_hook(client, room):
    url = reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": django_settings.RTMP_HOOK_SECRET})
    secret = stream_key_active(room=room).secret
    return client.post(url, {"app": "live", "name": secret, "clientid": "7", "addr": "203.0.113.7"})


@pytest.mark.django_db
class TestAccess:
    def test_loopback_may_scrape(self, client):
        assert client.get("/metrics").status_code == 200

    def test_another_address_gets_not_found(self, client):
        assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404

    def test_the_token_opens_it_from_anywhere_a_wrong_one_does_not(self, client, settings):
        settings.METRICS_TOKEN = "scrape-token-1234"
        outside = {"REMOTE_ADDR": "203.0.113.9"}
        assert (
            client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-1234", **outside).status_code
            == 200
        )
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **outside).status_code == 404

    def test_allowed_networks_replace_loopback(self, client, settings):
        settings.METRICS_ALLOWED_CIDRS = ["203.0.113.0/24"]
        assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
        assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_going_live_through_the_hook_moves_live_streams_and_the_hook_latency(client, settings):
    settings.RTMP_HOOK_SECRET = "test-hook-secret"
    room = RoomFactory()
    before = scrape(client)
    response = publish_hook(client, room)
    assert response.status_code == 302
    after = scrape(client)
    assert before[("streamlite_live_streams",)] == 0
    assert after[("streamlite_live_streams",)] == 1
    route = (("method", "POST"), ("route", "rtmp_hooks:publish"))
    count = ("streamlite_http_request_duration_seconds_count", *route)
    assert after[count] - before.get(count, 0) == 1
    redirects = ("streamlite_http_responses_total", *route, ("status", "3xx"))
    assert after[redirects] - before.get(redirects, 0) == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_chat_message_through_the_consumer_moves_the_chat_metrics(ws_open):
    room = await sync_to_async(LiveRoomFactory)(comment_cooldown_ms=0)
    alice, bob = await sync_to_async(UserFactory.create_batch)(2)
    sender = await ws_open(room.pk, user=alice)
    await ws_open(room.pk, user=bob)
    before = await sync_to_async(scrape)()
    await sender.send_json_to({"type": "chat", "text": "hello metrics", "client_id": "m1"})
    while not any(event["type"] == "chat" for event in (await sender.receive_json_from(timeout=3))["events"]):
        pass
    after = await sync_to_async(scrape)()
    assert after[ACCEPTED] - before[ACCEPTED] == 1
    # The frame carrying the message reached both sockets of the room.
    assert after[DELIVERED] - before[DELIVERED] >= 2
    assert after[("streamlite_viewers",)] == 2
    assert after[("streamlite_live_streams",)] == 1
    # No worker runs here, so the message waits in the outbox for the archive.
    assert after[("streamlite_chat_outbox_depth",)] == before[("streamlite_chat_outbox_depth",)] + 1


@shared_task(name="tests.ops.always_fails")
def always_fails() -> None:
    raise RuntimeError("this task fails")


@shared_task(name="tests.ops.retried_once", bind=True, max_retries=1)
def retried_once(self) -> None:
    if self.request.retries == 0:
        raise self.retry(countdown=0)


@pytest.mark.django_db
def test_task_failures_and_retries_are_counted_by_task_name(client, celery_eager):
    failures = ("streamlite_celery_task_failures_total", ("task", "tests.ops.always_fails"))
    retries = ("streamlite_celery_task_retries_total", ("task", "tests.ops.retried_once"))
    before = scrape(client)
    # throw=False: as in a worker, Celery handles the exception (failure signal, retry) instead of raising
    # it into the caller, which would skip that handling.
    assert always_fails.apply(throw=False).failed()
    assert retried_once.apply(throw=False).successful()
    after = scrape(client)
    assert after[failures] - before.get(failures, 0) == 1
    assert after[retries] - before.get(retries, 0) == 1


COUNT_IN_A_PROCESS = """
from streamlite import metrics
for _ in range(3):
    metrics.CHAT_MESSAGES_ACCEPTED.inc()
metrics.request_observed(route="home", method="GET", status=200, seconds=0.01)
"""


@pytest.mark.django_db
def test_processes_sharing_a_multiprocess_folder_are_added_up(client, settings, tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS], env=env, check=True, timeout=60)
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    values = scrape(client)
    assert values[ACCEPTED] == 6
    assert (
        values[("streamlite_http_responses_total", ("method", "GET"), ("route", "home"), ("status", "2xx"))]
        == 2
    )
    # The values read from the shared stores are there too, once.
    assert ("streamlite_live_streams",) in values
