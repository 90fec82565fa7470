"""SQLite, when a user asks for it, shared by several writers as `make run`'s processes share it."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Eight threads (each with its own connection) read then write in one transaction at once: in SQLite's
# default deferred mode the read-to-write lock upgrade fails at once with "database is locked".
CONCURRENT_WRITERS = """
import threading, time
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS counter (n integer)")
    cursor.execute("INSERT INTO counter VALUES (0)")
    cursor.execute("PRAGMA journal_mode")
    print("journal", cursor.fetchone()[0])
failures = []
start = threading.Barrier(8)

def writer():
    try:
        start.wait()
        for _ in range(5):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT n FROM counter")
                value = cursor.fetchone()[0]
                time.sleep(0.01)
                cursor.execute("UPDATE counter SET n = %s", [value + 1])
    except Exception as error:
        failures.append(repr(error))
    finally:
        connection.close()

threads = [threading.Thread(target=writer) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT n FROM counter")
    print("count", cursor.fetchone()[0])
print("failures", len(failures), failures[:1])
"""


def test_concurrent_writers_wait_for_each_other_instead_of_failing(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "streamlite.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    result = subprocess.run(
        [sys.executable, "-c", CONCURRENT_WRITERS],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "journal wal" in result.stdout
    assert "count 40" in result.stdout
    assert "failures 0" in result.stdout
