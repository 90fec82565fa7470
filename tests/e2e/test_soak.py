"""The soak's short version: `make run`'s own stack (scripts/run.sh) under a minute of ordinary use by
many people at once, read from the benchmark's summary line (bench/bench_soak.py)."""

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO_ROOT

# It measures the stack as `make run` starts it: such tests run one after another, on one worker.
pytestmark = [pytest.mark.e2e, pytest.mark.whole_machine]

SHORT = {
    "SOAK_SECONDS": "60",
    "SOAK_PAGE_CLIENTS": "10",
    "SOAK_VIEWERS": "40",
    "SOAK_SENDERS": "4",
    "SOAK_STREAMERS": "2",
    "SOAK_LISTENERS": "4",
    "SOAK_CYCLE_S": "30",
    "SOAK_LIVE_S": "15",
}


def test_make_run_stays_sound_under_a_minute_of_ordinary_use():
    done = subprocess.run(
        [sys.executable, "bench/bench_soak.py"],
        cwd=REPO_ROOT,
        env={**os.environ, **SHORT},
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("soak: {")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("soak: "))
    report = json.dumps(result, indent=1)  # in full: pytest would cut a dict short
    assert result["http_requests"] > 100 and result["http_5xx"] == 0 and result["logged_5xx"] == 0, report
    assert result["tracebacks"] == {} and result["errors_logged"] == {}, report
    assert result["go_lives"] >= 2 and result["go_live_failed"] == 0, report
    assert result["stops"] >= 2 and result["idle_within_5s"] == result["stops"], report
    assert result["pushes_created"] > 0 and result["pushes_received"] == result["pushes_created"], report
    # Every message answered: acknowledged, or refused by the rate limit when load bunches a sender's
    # messages up on arrival (the limiter measures arrival, not sending).
    assert result["chat_sent"] > 0 and result["chat_answered"] == result["chat_sent"], report
    assert set(result["chat_errors"]) <= {"rate_limited"}, report
    assert result["viewer_events"] > 0, report
    assert set(result["vods"]) == {"ready"}, report
