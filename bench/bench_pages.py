"""Page throughput: requests per second of a trivial view (goal: ≥ 800 per uvicorn process) and of `/`,
`/rooms/<id>/` and `/api/rooms/?status=live` with 1,000 rooms of which 100 are live, each as a ratio to
the trivial view served by the same server in the same run (goal: each ≥ 90 %). Anonymous visitors, as
most page views are.

Server: one web process as `make run` starts each (streamlite.web_processes: uvicorn with the site's
options; production settings, DEBUG off, PostgreSQL, Prometheus counters in a multiprocess folder), with
bench/pages_settings.py (the site plus /bench/trivial/, a view answering "ok" through the same
middleware). Load: wrk (Debian), one thread, CONNECTIONS keep-alive connections, DURATION_S per
measurement; the URLs take turns for ROUNDS rounds, each round starting at the next URL, so a machine
whose speed changes slows all of them alike, and each ratio is the median of its rounds' ratios.
Every page is checked first (status 200, the live rooms listed) so a fast error page cannot pass.

BENCH_PAGES_BEFORE=<another checkout> (e.g. `git archive main | tar -x -C /tmp/before`) serves that code
too, with this virtualenv and database: each round measures both, one after the other, so the two are
compared in the same run on a shared machine.
"""

import os
import re
import statistics
import subprocess
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from common import ROOT, process_tree_cpu_seconds, web_server
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from rooms.cache import room_lists_changed
from rooms.models import Category, Room
from streams.models import RoomRecord, Stream

ROOMS = 1000
LIVE = 100
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "12"))
DURATION_S = int(os.environ.get("BENCH_PAGES_DURATION_S", "2"))
CONNECTIONS = 8
# Every request carries the Accept-Encoding browsers send (kept pages are served gzipped to them);
# BENCH_PAGES_ENCODING="" measures clients that accept no compression.
ENCODING = os.environ.get("BENCH_PAGES_ENCODING", "gzip, deflate, br")
GOAL = 0.9
TRIVIAL_GOAL = 800
USER_PREFIX = "pagebench"


@transaction.atomic
def seed() -> Room:
    """1,000 rooms of 1,000 streamers in 10 categories, 100 of them live; returns the most watched.

    Stream keys are left out: no page shows them, and bulk_create would skip their digest."""
    User.objects.filter(username__startswith=USER_PREFIX).delete()
    categories = [
        Category.objects.get_or_create(slug=f"bench-{n}", defaults={"name": f"Bench category {n}"})[0]
        for n in range(10)
    ]
    users = User.objects.bulk_create(
        User(
            username=f"{USER_PREFIX}{n}", email=f"{USER_PREFIX}{n}@example.com", display_name=f"Streamer {n}"
        )
        for n in range(ROOMS)
    )
    rooms = Room.objects.bulk_create(
        Room(
            owner=user,
            title=f"Bench room {n}",
            category=categories[n % len(categories)],
            status=Room.Status.LIVE if n < LIVE else Room.Status.IDLE,
            viewer_count=(LIVE - n) * 7 if n < LIVE else 0,
        )
        for n, user in enumerate(users)
    )
    now = timezone.now()
    streams = Stream.objects.bulk_create(
        Stream(room=room, started_at=now, client_id=str(n), last_heartbeat_at=now)
        for n, room in enumerate(rooms[:LIVE])
    )
    RoomRecord.objects.bulk_create(RoomRecord(room=s.room, stream=s, started_at=now) for s in streams)
    transaction.on_commit(room_lists_changed)  # bulk_create sends no signals
    return rooms[0]


def check(url: str, expect: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback URL we built)
        body = response.read().decode()
        assert response.status == 200, (url, response.status)
    assert expect in body, (url, expect, body[:300])


def wrk(url: str, server_pid: int) -> tuple[float, float]:
    """Requests per second, and requests per CPU second of the server (less swayed by a busy machine)."""
    cpu_before = process_tree_cpu_seconds(server_pid)
    encoding_header = ["-H", f"Accept-Encoding: {ENCODING}"] if ENCODING else []
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--timeout", "10s", *encoding_header, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors while loading {url}:\n{out}")
    cpu = process_tree_cpu_seconds(server_pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), requests / cpu


def main() -> None:
    top = seed()
    live_total = Room.objects.filter(status=Room.Status.LIVE).count()
    print(
        f"rooms: {Room.objects.count()} ({live_total} live); 1 web process; wrk -t1 -c{CONNECTIONS}; "
        f"Accept-Encoding: {ENCODING or '(none)'}"
    )
    trees = {"this tree": ROOT}
    if os.environ.get("BENCH_PAGES_BEFORE"):
        trees = {"before": Path(os.environ["BENCH_PAGES_BEFORE"]), "after": ROOT}
    with ExitStack() as stack:
        urls: dict[str, dict[str, str]] = {}
        pids: dict[str, int] = {}
        for tree, cwd in trees.items():
            # As scripts/run.sh starts the web processes: their counters in files of a multiprocess folder.
            env = {
                "DJANGO_SETTINGS_MODULE": "bench.pages_settings",
                "PROMETHEUS_MULTIPROC_DIR": stack.enter_context(tempfile.TemporaryDirectory()),
            }
            # A checkout from before streamlite.web_processes is served by uvicorn with the same options.
            server = "site" if (cwd / "streamlite/web_processes.py").exists() else "uvicorn"
            base = stack.enter_context(web_server(extra_env=env, server=server, cwd=cwd))
            pids[tree] = base.pid
            urls[tree] = {
                "trivial view": f"{base}/bench/trivial/",
                "/": f"{base}/",
                "/rooms/<id>/": f"{base}/rooms/{top.pk}/",
                "/api/rooms/?status=live": f"{base}/api/rooms/?status=live",
            }
            check(urls[tree]["/"], top.title)
            check(urls[tree]["/rooms/<id>/"], top.title)
            check(urls[tree]["/api/rooms/?status=live"], f'"count":{live_total}')
        rates = {tree: {name: [] for name in tree_urls} for tree, tree_urls in urls.items()}
        per_cpu = {tree: {name: [] for name in tree_urls} for tree, tree_urls in urls.items()}
        for round_no in range(ROUNDS):
            for tree, tree_urls in urls.items():
                # Each round starts at another URL: a machine speeding up or slowing down within a round
                # then favours none of them.
                names = list(tree_urls)
                for name in names[round_no % len(names) :] + names[: round_no % len(names)]:
                    rate, rate_per_cpu = wrk(tree_urls[name], pids[tree])
                    rates[tree][name].append(rate)
                    per_cpu[tree][name].append(rate_per_cpu)
                print(
                    f"round {round_no + 1}, {tree} (load {os.getloadavg()[0]:.1f}): "
                    + ", ".join(
                        f"{n} {r[-1]:.0f}/s ({per_cpu[tree][n][-1]:.0f}/CPU s)"
                        for n, r in rates[tree].items()
                    )
                )
    failed = []
    for tree, tree_rates in rates.items():
        baseline = tree_rates.pop("trivial view")
        trivial_cpu = statistics.median(per_cpu[tree].pop("trivial view"))
        print(
            f"{tree}: trivial view: median {statistics.median(baseline):.0f} req/s "
            f"(goal {TRIVIAL_GOAL}), {trivial_cpu:.0f} per CPU second"
        )
        for name, values in tree_rates.items():
            ratio = statistics.median(
                value / base_rate for value, base_rate in zip(values, baseline, strict=True)
            )
            verdict = "ok" if ratio >= GOAL else "BELOW GOAL"
            print(
                f"{tree}: {name}: median {statistics.median(values):.0f} req/s, "
                f"{ratio:.0%} of the trivial view ({verdict}), "
                f"{statistics.median(per_cpu[tree][name]):.0f} per CPU second"
            )
            if ratio < GOAL and tree != "before":
                failed.append(name)
    # The absolute rate depends on the machine and its load, so only the ratios fail the benchmark.
    if failed:
        raise SystemExit(f"below {GOAL:.0%} of the trivial view: {', '.join(failed)}")


if __name__ == "__main__":
    main()
