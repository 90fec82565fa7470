"""schemathesis over every operation of /api/schema/, against a live server on the real PostgreSQL."""

import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import LiveRoomFactory, RoomFactory, UserFactory

ST = Path(sys.executable).with_name("st")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def unthrottled(monkeypatch):
    # The fuzzer sends thousands of requests from one address; throttling has tests of its own.
    for scope in list(SimpleRateThrottle.THROTTLE_RATES):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "1000000/min")


def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_server, unthrottled, tmp_path):
    streamer = UserFactory(username="streamer")
    RoomFactory(owner=streamer)
    LiveRoomFactory()
    access = RefreshToken.for_user(streamer).access_token
    result = subprocess.run(
        [
            str(ST),
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            CHECKS,
            "--max-examples",
            "20",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "7",
            "--workers",
            "1",
            "--header",
            f"Authorization: Bearer {access}",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=900,  # a wait: on a loaded machine the run took over 5 minutes
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
