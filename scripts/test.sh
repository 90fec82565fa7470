#!/usr/bin/env bash
# make test: real PostgreSQL, Redis and the MongoDB stand-in on loopback under a temporary folder,
# then the whole pytest suite; the services stop whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# The layers of DESIGN §5 first: an upward import between apps fails the run before any test.
.venv/bin/lint-imports --no-cache >/dev/null || { .venv/bin/lint-imports --no-cache; exit 1; }
dir=$(mktemp -d /tmp/streamlite-test.XXXXXX)
export PG_PORT=${PG_PORT:-55433} REDIS_PORT=${REDIS_PORT:-56380} MONGO_PORT=${MONGO_PORT:-57017}
cleanup() {
  # The Redis of each xdist worker (tests/parallel.py), should a worker have died without stopping it.
  for pidfile in "$dir"/*/redis.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  scripts/services.sh stop "$dir"
  rm -rf "$dir"
}
trap cleanup EXIT
service_env=$(scripts/services.sh start "$dir" --postgres)
eval "$service_env"
export DEBUG=0 SECRET_KEY=test-secret-key-of-at-least-thirty-two-bytes RTMP_HOOK_SECRET=test-hook-secret
export TEST_TMP="$dir" STATIC_ROOT="$dir/static" MEDIA_ROOT="$dir/media"
.venv/bin/python manage.py compilemessages -v0 --ignore=.venv --ignore=node_modules
.venv/bin/python manage.py collectstatic --noinput -v0
# The whole suite runs on 3 pytest-xdist workers (TEST_WORKERS=N for another number), each with its own
# Redis, MongoDB database, PostgreSQL test database and folders (tests/parallel.py, docs/testing.md);
# tests chosen by path run in this one process unless TEST_WORKERS says otherwise.
workers=3
for arg in "$@"; do
  case $arg in tests | tests/* | ./tests*) workers=0 ;; esac
done
workers=${TEST_WORKERS:-$workers}
if [ "$workers" = 0 ]; then
  .venv/bin/python -m pytest -p tests.parallel -n 0 "$@"
else
  # Tests that hold the machine to goals of their own (the soak) run alone, after the parallel part.
  .venv/bin/python -m pytest -p tests.parallel -n "$workers" --dist loadgroup -m "not whole_machine" "$@"
  .venv/bin/python -m pytest -p tests.parallel -n 0 -m whole_machine "$@"
fi
