"""The suite's parallel run (tests/parallel.py): two pytest-xdist workers get stores and folders of their
own before Django reads its settings, and stop their Redis when they end."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]

# Collected by each worker, so each one reports what its own Django settings say.
REPORTING_MODULE = """
import json, os
from pathlib import Path
import redis
from django.conf import settings

redis.Redis.from_url(settings.REDIS_URL).publish("room", "hello")
Path(os.environ["REPORT_DIR"], os.environ["PYTEST_XDIST_WORKER"]).write_text(json.dumps({
    "redis_url": settings.REDIS_URL,
    "cache": settings.CACHES["default"]["LOCATION"],
    "channels": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"],
    "broker": settings.CELERY_BROKER_URL,
    "mongo_db": settings.MONGO_DB,
    "var_dir": str(settings.VAR_DIR),
    "media_root": str(settings.MEDIA_ROOT),
    "hls_root": str(settings.HLS_ROOT),
}))

def test_one():
    pass

def test_two():
    pass
"""


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_each_worker_has_its_own_redis_mongo_database_and_folders(tmp_path):
    (tmp_path / "test_report.py").write_text(REPORTING_MODULE)
    reports = tmp_path / "reports"
    reports.mkdir()
    env = {**os.environ, "REPORT_DIR": str(reports), "TEST_TMP": str(tmp_path / "tmp")}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.parallel", "-n", "2", "-p", "no:cacheprovider",
         "--rootdir", str(REPO_ROOT), "-c", str(REPO_ROOT / "pyproject.toml"), str(tmp_path / "test_report.py")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    seen = {path.name: json.loads(path.read_text()) for path in reports.iterdir()}
    assert set(seen) == {"gw0", "gw1"}
    first, second = seen["gw0"], seen["gw1"]
    for report in seen.values():
        assert report["redis_url"] == report["cache"] == report["channels"] == report["broker"]
    ports = {urlsplit(report["redis_url"]).port for report in seen.values()}
    # A server each (PUBLISH channels are shared by every database of one server), not the suite's own.
    assert len(ports) == 2 and urlsplit(os.environ["REDIS_URL"]).port not in ports
    for key in ("mongo_db", "var_dir", "media_root", "hls_root"):
        assert first[key] != second[key], key
    assert Path(first["hls_root"]).is_relative_to(tmp_path / "tmp" / "gw0")
    # The workers stopped their servers when they ended.
    assert not any(_answers(port) for port in ports)
