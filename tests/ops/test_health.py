"""/healthz against real services: this test's own Redis and MongoDB stand-in (stopped to fail them), the
real moto_server for S3, the real PostgreSQL of the suite."""

import socket
import time

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db(transaction=True)

PARTS = {"database", "redis", "mongo", "storage"}


def healthz(client):
    response = client.get("/healthz")
    return response.status_code, response.json(), response


@pytest.fixture
def services_of_this_test(own_redis, own_mongo):
    with override_settings(
        REDIS_URL=f"redis://127.0.0.1:{own_redis.port}/0", MONGO_URL=f"mongodb://127.0.0.1:{own_mongo.port}/"
    ):
        yield own_redis, own_mongo


def test_every_part_answering_is_200_ok(client, services_of_this_test):
    status, body, response = healthz(client)
    assert status == 200
    assert body == {"status": "ok", "checks": dict.fromkeys(PARTS, "ok")}
    # A probe must see the present state and leave nothing behind.
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    assert "Set-Cookie" not in response


def test_redis_stopped_is_503_naming_redis(client, services_of_this_test):
    own_redis, _mongo = services_of_this_test
    own_redis.stop()
    status, body, _ = healthz(client)
    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["redis"].startswith("error: ")
    assert {part for part, state in body["checks"].items() if state == "ok"} == PARTS - {"redis"}


def test_mongo_stopped_is_503_naming_mongo(client, services_of_this_test):
    _redis, own_mongo = services_of_this_test
    own_mongo.stop()
    status, body, _ = healthz(client)
    assert status == 503
    assert body["checks"]["mongo"].startswith("error: ")
    assert {part for part, state in body["checks"].items() if state == "ok"} == PARTS - {"mongo"}


def test_s3_storage_up_then_stopped(client, s3_storage):
    moto, _bucket = s3_storage
    status, body, _ = healthz(client)
    assert (status, body["checks"]["storage"]) == (200, "ok")
    moto.stop()
    status, body, _ = healthz(client)
    assert status == 503
    assert body["checks"]["storage"].startswith("error: ")
    assert body["checks"]["database"] == "ok"


def test_missing_bucket_is_a_storage_failure(client, moto_server):
    if moto_server.process.poll() is not None:
        moto_server.start()
    with override_settings(STORAGES=moto_server.storages("no-such-bucket")):
        status, body, _ = healthz(client)
    assert status == 503
    assert body["checks"]["storage"].startswith("error: ")


def test_a_service_that_never_answers_cannot_hang_the_probe(client, settings):
    # Accepts connections (the kernel's backlog) but never speaks: every client call would wait forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.HEALTHZ_TIMEOUT_S = 0.5
        settings.MONGO_URL = f"mongodb://127.0.0.1:{silent.getsockname()[1]}/"
        started = time.monotonic()
        status, body, _ = healthz(client)
        elapsed = time.monotonic() - started
    assert status == 503
    assert body["checks"]["mongo"].startswith("error: ")
    assert elapsed < 2.0


def test_failure_reason_never_carries_the_url_or_password(client, settings):
    settings.REDIS_URL = f"redis://:sekrit-password@127.0.0.1:{_closed_port()}/0"
    status, body, response = healthz(client)
    assert status == 503
    assert body["checks"]["redis"].startswith("error: ")
    assert b"sekrit" not in response.content and b"127.0.0.1" not in response.content


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
