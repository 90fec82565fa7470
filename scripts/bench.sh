#!/usr/bin/env bash
# make bench: every benchmark of bench/ against real PostgreSQL, Redis and the MongoDB stand-in, each
# printing its figures. Pass benchmark names to run only those: scripts/bench.sh publish_storm
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# Only the glass-to-glass benchmark reads screenshots, so only `make bench` installs the OCR.
if ! command -v tesseract >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr >/dev/null
fi
dir=$(mktemp -d /tmp/streamlite-bench.XXXXXX)
export PG_PORT=${PG_PORT:-55443} REDIS_PORT=${REDIS_PORT:-56390} MONGO_PORT=${MONGO_PORT:-57027}
cleanup() { scripts/services.sh stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
service_env=$(scripts/services.sh start "$dir" --postgres)
eval "$service_env"
export DEBUG=0 SECRET_KEY=bench-secret-key-of-at-least-thirty-two-bytes RTMP_HOOK_SECRET=bench-hook-secret BENCH_TMP="$dir"
export STATIC_ROOT="$dir/static" MEDIA_ROOT="$dir/media" HLS_ROOT="$dir/hls" RECORDINGS_ROOT="$dir/recordings"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py collectstatic --noinput -v0
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(cd bench && ls bench_*.py | sed 's/^bench_//; s/\.py$//'))
for name in "${names[@]}"; do
  echo "== $name"
  .venv/bin/python "bench/bench_$name.py"
done
