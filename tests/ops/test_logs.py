"""Logs as the console handler writes them (JSON lines): request ids, stream ids, task ids, no secrets."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from celery import shared_task
from django.urls import reverse

from rooms.selectors import stream_key_active
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db

HOOK_SECRET = "hook-secret-that-must-not-be-logged"


@pytest.fixture
def log_lines():
    """Every record of the root logger formatted by the configured console handler; call for the parsed
    JSON objects written so far."""
    console = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(console.formatter)
    for log_filter in console.filters:
        capture.addFilter(log_filter)
    root = logging.getLogger()
    root.addHandler(capture)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.removeHandler(capture)


def access_line(lines, path):
    return next(line for line in lines if line["logger"] == "streamlite.access" and line["path"] == path)


def test_a_request_logs_a_json_line_with_the_request_id_of_its_response_header(client, log_lines):
    response = client.get("/healthz")
    line = access_line(log_lines(), "/healthz")
    assert line["request_id"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32
    assert {"timestamp", "level", "logger", "message"} <= line.keys()
    assert (line["level"], line["method"], line["status"], line["route"]) == ("INFO", "GET", 200, "healthz")


def test_a_sane_incoming_request_id_is_kept(client, log_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-4f2a9c7e-0001")
    assert response["X-Request-ID"] == "lb-4f2a9c7e-0001"
    assert access_line(log_lines(), "/healthz")["request_id"] == "lb-4f2a9c7e-0001"


@pytest.mark.parametrize("header", ["short", "x" * 200, "has space in it", "line\\nbreak-0123456789"])
def test_an_odd_incoming_request_id_is_replaced(client, header):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=header)
    assert response["X-Request-ID"] != header
    assert len(response["X-Request-ID"]) == 32


def test_going_live_logs_the_stream_and_room_but_never_the_hook_secret_or_key(client, settings, log_lines):
    settings.RTMP_HOOK_SECRET = HOOK_SECRET
    room = RoomFactory()
    stream_key = stream_key_active(room=room).secret
    url = reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": HOOK_SECRET})
    response = client.post(url, {"app": "live", "name": stream_key, "clientid": "3", "addr": "203.0.113.7"})
    assert response.status_code == 302
    lines = log_lines()
    line = access_line(lines, reverse("rtmp_hooks:publish"))
    stream = room.streams.get()
    assert (line["stream_id"], line["room_id"], line["route"]) == (stream.pk, room.pk, "rtmp_hooks:publish")
    assert line["request_id"] == response["X-Request-ID"]
    written = json.dumps(lines)
    assert HOOK_SECRET not in written and stream_key not in written


@shared_task(name="tests.ops.logs_something")
def logs_something() -> None:
    logging.getLogger("tests.ops").warning("inside the task")


def test_a_task_logs_its_id_and_name(celery_eager, log_lines):
    result = logs_something.delay()
    line = next(line for line in log_lines() if line["message"] == "inside the task")
    assert (line["task_id"], line["task_name"]) == (result.id, "tests.ops.logs_something")
    assert "stream_id" not in line


def test_a_refused_hook_is_logged_with_its_request_id_and_without_the_secret(client, settings, log_lines):
    settings.RTMP_HOOK_SECRET = HOOK_SECRET
    wrong = "wrong-secret-also-not-logged"
    url = reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": wrong})
    response = client.post(url, {"app": "live", "name": "whatever", "clientid": "3"})
    assert response.status_code == 403
    lines = log_lines()
    # django.request's "Forbidden" line comes after the middleware is done, and carries the request.
    forbidden = next(line for line in lines if line["logger"] == "django.request")
    assert forbidden["request_id"] == response["X-Request-ID"]
    assert wrong not in json.dumps(lines)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_stream_bound_in_the_sync_service_reaches_the_access_line(
    async_client, settings, log_lines
):
    settings.RTMP_HOOK_SECRET = HOOK_SECRET
    room = await sync_to_async(RoomFactory)()
    stream_key = await sync_to_async(lambda: stream_key_active(room=room).secret)()
    url = reverse("rtmp_hooks:publish") + "?" + urlencode({"secret": HOOK_SECRET})
    response = await async_client.post(url, {"app": "live", "name": stream_key, "clientid": "4"})
    assert response.status_code == 302
    line = access_line(log_lines(), reverse("rtmp_hooks:publish"))
    stream_id = await sync_to_async(lambda: room.streams.get().pk)()
    assert (line["stream_id"], line["room_id"], line["request_id"]) == (
        stream_id,
        room.pk,
        response["X-Request-ID"],
    )


PLAIN_LOG = """
import django, logging
django.setup()
logging.getLogger("tests.ops").warning("readable line")
"""


def test_log_format_plain_writes_readable_lines():
    env = {**os.environ, "LOG_FORMAT": "plain", "DJANGO_SETTINGS_MODULE": "streamlite.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_LOG], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+ WARNING tests.ops readable line\n", result.stderr)
